// The BPMN editor: bpmn-js Modeler with the properties panel, the spiffworkflow namespace and the "tejun"
// properties group; problems from validation are marked on their elements.
import Modeler from 'bpmn-js/lib/Modeler';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';
import spiffModdle from './spiff-moddle.js';
import { TejunPropertiesModule } from './spiff-provider.js';
import { el } from './dom.js';

export const PROBLEM_MARKER = 'tejun-problem';

// Import warnings that mean part of the file would be lost when it is written back.
export function losesContent(warnings) {
  return warnings.some((w) => /unparsable content|unknown type|unrecognized element/.test(w.message || ''));
}

export function createBpmnEditor(host, { texts, tejun, onChange }) {
  const canvasHost = el('div', { class: 'tejun-modeler-canvas', role: 'region', 'aria-label': texts.diagram });
  const panelHost = el('div', { class: 'tejun-modeler-panel', role: 'region', 'aria-label': texts.properties });
  host.replaceChildren(el('div', { class: 'tejun-modeler' }, canvasHost, panelHost));

  const modeler = new Modeler({
    container: canvasHost,
    // the group with what tejun runs on (forms, stage, scripts, conditions, lanes) starts open
    propertiesPanel: { parent: panelHost, layout: { groups: { tejun: { open: true } } } },
    additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, TejunPropertiesModule],
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
      const canvas = modeler.get('canvas');
      canvas.zoom('fit-viewport', 'auto');
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
