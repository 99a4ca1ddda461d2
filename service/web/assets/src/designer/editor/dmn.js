// The DMN editor: dmn-js Modeler (decision requirements diagram and decision tables). Loaded only when a
// DMN file is opened.
import DmnModeler from 'dmn-js/lib/Modeler';
import { el } from './dom.js';
import { pageLang, translateModule } from './translate.js';

export function createDmnEditor(host, { texts, onChange }) {
  const canvasHost = el('div', { class: 'tejun-dmn-canvas', role: 'region', 'aria-label': texts.diagram });
  host.replaceChildren(canvasHost);
  // every view (requirements diagram, decision tables, literal expressions) in the page's language; per view,
  // since dmn-js replaces `common.additionalModules` with each view's own list
  const translated = { additionalModules: [translateModule(pageLang())] };
  const modeler = new DmnModeler({ container: canvasHost, drd: translated, decisionTable: translated,
    literalExpression: translated, boxedExpression: translated });
  const watched = new WeakSet();
  modeler.on('views.changed', () => {
    const viewer = modeler.getActiveViewer();
    if (viewer && !watched.has(viewer)) {
      watched.add(viewer);
      viewer.on('commandStack.changed', () => onChange());
    }
  });
  let pending = null;
  return {
    modeler,
    async open(xml) {
      const { warnings } = await modeler.importXML(xml);
      // open the first decision table, where the rules are
      const table = modeler.getViews().find((v) => v.type === 'decisionTable');
      if (table) await modeler.open(table);
      pending = null;
      return { warnings, lossy: warnings.some((w) => /unparsable content|unknown type/.test(w.message || '')) };
    },
    async content() {
      const { xml } = await modeler.saveXML({ format: true });
      return xml;
    },
    showProblems(problems) {
      pending = problems.filter((p) => p.element_id);
      return pending.length;
    },
    async focus(elementId) {
      // a decision, or a cell or column of a decision table: open the view that holds it
      const views = modeler.getViews();
      const direct = views.find((v) => v.element.id === elementId);
      const holding = direct || views.find((v) => v.type === 'decisionTable'
        && JSON.stringify(collectIds(v.element.decisionLogic)).includes(`"${elementId}"`));
      if (holding && holding !== modeler.getActiveView()) await modeler.open(holding);
      const cell = canvasHost.querySelector(`[data-element-id="${CSS.escape(elementId)}"]`);
      if (cell) {
        cell.classList.add('tejun-problem-cell');
        cell.scrollIntoView({ block: 'center', inline: 'center' });
        cell.focus?.();
      }
      return Boolean(holding || cell);
    },
    destroy() {
      modeler.destroy();
    },
  };
}

function collectIds(node, found = [], depth = 0) {
  if (!node || typeof node !== 'object' || depth > 8) return found;
  if (typeof node.id === 'string') found.push(node.id);
  for (const key of Object.keys(node)) {
    if (key.startsWith('$')) continue;
    const value = node[key];
    if (Array.isArray(value)) value.forEach((v) => collectIds(v, found, depth + 1));
    else if (value && typeof value === 'object') collectIds(value, found, depth + 1);
  }
  return found;
}
