// The BPMN editor: bpmn-js Modeler with the properties panel, the spiffworkflow namespace and the "tejun"
// properties group; problems from validation are marked on their elements.
import Modeler from 'bpmn-js/lib/Modeler';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';
import spiffModdle from './spiff-moddle.js';
import { TejunPropertiesModule } from './spiff-provider.js';
import { el } from './dom.js';
import { pageLang, translateModule } from './translate.js';

export const PROBLEM_MARKER = 'tejun-problem';

// Import warnings that mean part of the file would be lost when it is written back.
export function losesContent(warnings) {
  return warnings.some((w) => /unparsable content|unknown type|unrecognized element/.test(w.message || ''));
}

// The whole diagram in view, right of the palette (bpmn-js draws the palette over the canvas's left edge, so
// a plain fit-viewport puts the first elements under it).
export const READABLE_SCALE = 0.6;

export function fitBesidePalette(canvas, canvasHost) {
  canvas.zoom('fit-viewport', 'auto');
  const palette = canvasHost.querySelector('.djs-palette');
  const { inner, outer } = canvas.viewbox();
  if (!palette || !inner.width || !inner.height) return;
  const left = palette.getBoundingClientRect().right - canvasHost.getBoundingClientRect().left + 16;
  const margin = 16;
  const fitted = Math.min(1, (outer.width - left - margin) / inner.width, (outer.height - 2 * margin) / inner.height);
  // a large process is not shrunk below a readable scale: its start is shown, the rest is panned to
  const scale = Math.max(fitted, READABLE_SCALE);
  const spare = outer.height / scale - inner.height;
  canvas.viewbox({
    x: inner.x - left / scale,
    y: spare > 0 ? inner.y - spare / 2 : inner.y - margin / scale,
    width: outer.width / scale,
    height: outer.height / scale,
  });
}

export function createBpmnEditor(host, { texts, tejun, onChange }) {
  const canvasHost = el('div', { class: 'tejun-modeler-canvas', role: 'region', 'aria-label': texts.diagram });
  const panelHost = el('div', { class: 'tejun-modeler-panel', role: 'region', 'aria-label': texts.properties });
  host.replaceChildren(el('div', { class: 'tejun-modeler' }, canvasHost, panelHost));

  const modeler = new Modeler({
    container: canvasHost,
    // the group with what tejun runs on (forms, stage, scripts, conditions, lanes) starts open
    propertiesPanel: { parent: panelHost, layout: { groups: { tejun: { open: true } } } },
    // palette, context pad, menus and the properties panel in the page's language (translate.js)
    additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, TejunPropertiesModule,
      translateModule(pageLang())],
    moddleExtensions: { spiffworkflow: spiffModdle },
    tejun,
  });
  canvasHost.tabIndex = 0;
  let overlaysAdded = [];
  let markedIds = [];
  modeler.on('commandStack.changed', () => onChange());

  function clearProblems() {
    const canvas = modeler.get('canvas');
    const overlays = modeler.get('overlays');
    for (const id of markedIds) canvas.removeMarker(id, PROBLEM_MARKER);
    for (const overlay of overlaysAdded) overlays.remove(overlay);
    markedIds = [];
    overlaysAdded = [];
  }

  return {
    modeler,
    async open(xml) {
      clearProblems();
      const { warnings } = await modeler.importXML(xml);
      fitBesidePalette(modeler.get('canvas'), canvasHost);
      return { warnings, lossy: losesContent(warnings) };
    },
    async content() {
      const { xml } = await modeler.saveXML({ format: true });
      return xml;
    },
    showProblems(problems) {
      clearProblems();
      const registry = modeler.get('elementRegistry');
      const canvas = modeler.get('canvas');
      const overlays = modeler.get('overlays');
      const byElement = new Map();
      for (const p of problems) {
        if (!p.element_id || !registry.get(p.element_id)) continue;
        if (!byElement.has(p.element_id)) byElement.set(p.element_id, []);
        byElement.get(p.element_id).push(p.message);
      }
      for (const [id, messages] of byElement) {
        canvas.addMarker(id, PROBLEM_MARKER);
        markedIds.push(id);
        const badge = el('span', { class: 'tejun-problem-badge', title: messages.join('\n'), text: `! ${messages.length}` });
        overlaysAdded.push(overlays.add(id, 'tejun-problem', { position: { top: -12, right: 12 }, html: badge }));
      }
      return byElement.size;
    },
    focus(elementId) {
      const registry = modeler.get('elementRegistry');
      const element = registry.get(elementId);
      if (!element) return false;
      const canvas = modeler.get('canvas');
      if (element.waypoints || element.width) canvas.scrollToElement(element, { top: 120, bottom: 120, left: 200, right: 200 });
      modeler.get('selection').select(element);
      canvasHost.focus();
      return true;
    },
    destroy() {
      modeler.destroy();
    },
  };
}
