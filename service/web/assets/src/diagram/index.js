// diagram.js: shows a case's BPMN process with bpmn-js (read-only, pan/zoom), marking the completed and
// active elements. Mount contract: see ../../README.md ("diagram.js").
// The bpmn.io watermark that bpmn-js adds must stay visible (bpmn.io licence).
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';

const TEXT = {
  ja: {
    label: '業務プロセス図',
    completed: '完了',
    active: '対応中',
    pending: '未着手',
    legend: '凡例',
    zoomIn: '拡大',
    zoomOut: '縮小',
    fit: '全体を表示',
    failed: 'プロセス図を表示できませんでした。',
    summary: (done, now) => `完了: ${done || 'なし'}。対応中: ${now || 'なし'}。`,
  },
  en: {
    label: 'Process diagram',
    completed: 'Completed',
    active: 'In progress',
    pending: 'Not started',
    legend: 'Legend',
    zoomIn: 'Zoom in',
    zoomOut: 'Zoom out',
    fit: 'Fit to screen',
    failed: 'The process diagram could not be displayed.',
    summary: (done, now) => `Completed: ${done || 'none'}. In progress: ${now || 'none'}.`,
  },
};

export const MARKERS = { completed: 'tejun-completed', active: 'tejun-active' };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

function legend(t) {
  const item = (kind, label) =>
    el('li', { class: `tejun-legend-${kind}` }, el('span', { class: 'tejun-legend-swatch', 'aria-hidden': 'true' }), label);
  return el('div', { class: 'tejun-diagram-legend' },
    el('span', { class: 'tejun-diagram-legend-title', text: `${t.legend}:` }),
    el('ul', {}, item('completed', t.completed), item('active', t.active), item('pending', t.pending)));
}

function toolbar(t, canvas) {
  const button = (label, symbol, action) => {
    const b = el('button', { type: 'button', class: 'tejun-diagram-btn', 'aria-label': label, title: label, text: symbol });
    b.addEventListener('click', action);
    return b;
  };
  const zoomBy = (factor) => canvas.zoom(canvas.zoom() * factor);
  return el('div', { class: 'tejun-diagram-toolbar', role: 'toolbar', 'aria-label': t.label },
    button(t.zoomIn, '＋', () => zoomBy(1.25)),
    button(t.zoomOut, '－', () => zoomBy(0.8)),
    button(t.fit, '⤢', () => canvas.zoom('fit-viewport', 'auto')));
}

// Shows the diagram of `processId` when the file holds several (a collaboration counts as showing it).
async function openProcess(viewer, processId) {
  if (!processId) return;
  const diagrams = viewer.getDefinitions()?.diagrams || [];
  const shows = (d) => {
    const element = d.plane && d.plane.bpmnElement;
    if (!element) return false;
    if (element.id === processId) return true;
    return (element.participants || []).some((p) => p.processRef && p.processRef.id === processId);
  };
  const diagram = diagrams.find(shows);
  if (diagram && diagram !== diagrams[0]) await viewer.open(diagram.id);
}

// The path taken: sequence flows from a completed element to a completed or active one.
export function completedFlows(registry, completed, active) {
  const done = new Set(completed);
  const reached = new Set([...completed, ...active]);
  return registry.filter((e) => e.type === 'bpmn:SequenceFlow' && e.source && e.target
    && done.has(e.source.id) && reached.has(e.target.id));
}

// Below this scale labels cannot be read: a large diagram is shown at it, around the current step.
export const READABLE_SCALE = 0.7;

// Fitted to the stage and centred on the current step (the first active element); when fitting would make the
// diagram unreadably small, shown at a readable scale around that step instead.
export function openOnCurrentStep(canvas, registry, active) {
  canvas.zoom('fit-viewport', 'auto');
  const current = active.map((id) => registry.get(id)).find((e) => e && e.width !== undefined);
  if (!current) return;
  if (canvas.zoom() < READABLE_SCALE) canvas.zoom(READABLE_SCALE);
  const box = canvas.viewbox();
  canvas.viewbox({
    x: current.x + current.width / 2 - box.width / 2,
    y: current.y + current.height / 2 - box.height / 2,
    width: box.width,
    height: box.height,
  });
}

export async function mount(container = document.getElementById('tejun-diagram')) {
  if (!container || container.dataset.mounted) return null;
  container.dataset.mounted = 'true';
  const lang = (container.dataset.lang || document.documentElement.lang || 'ja').slice(0, 2) === 'en' ? 'en' : 'ja';
  const t = TEXT[lang];
  const block = document.getElementById('tejun-diagram-data');
  const data = block ? JSON.parse(block.textContent) : {};
  const completed = data.completed || [];
  const active = data.active || [];

  container.classList.add('tejun-diagram');
  const summaryId = `${container.id || 'tejun-diagram'}-summary`;
  const canvasHost = el('div', { class: 'tejun-diagram-canvas' });
  const stage = el('div', { class: 'tejun-diagram-stage', role: 'region', 'aria-label': t.label,
    'aria-describedby': summaryId }, canvasHost);
  const summary = el('p', { class: 'tejun-visually-hidden', id: summaryId });
  container.replaceChildren(stage, summary);
  if (container.dataset.legend !== 'false') container.append(legend(t));

  const viewer = new NavigatedViewer({ container: canvasHost });
  try {
    const res = await fetch(data.xml_url, { credentials: 'same-origin', headers: { Accept: 'application/xml, text/xml' } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const { warnings } = await viewer.importXML(await res.text());
    if (warnings.length) {
      console.warn('tejun-diagram: import warnings:', warnings.map((w) => w.message).join(' | '));
    }
    await openProcess(viewer, data.process_id);

    const canvas = viewer.get('canvas');
    const registry = viewer.get('elementRegistry');
    const names = (ids) => ids.map((id) => registry.get(id)).filter(Boolean)
      .map((e) => (e.businessObject && e.businessObject.name) || e.id).join('、');
    for (const [ids, marker] of [[completed, MARKERS.completed], [active, MARKERS.active]]) {
      for (const id of ids) if (registry.get(id)) canvas.addMarker(id, marker);
    }
    for (const flow of completedFlows(registry, completed, active)) canvas.addMarker(flow.id, MARKERS.completed);
    openOnCurrentStep(canvas, registry, active);
    summary.textContent = t.summary(names(completed), names(active));
    stage.append(toolbar(t, canvas));
    container.dataset.state = 'ready';
  } catch (error) {
    console.error('tejun-diagram: cannot show the diagram', error);
    container.dataset.state = 'error';
    stage.after(el('p', { class: 'tejun-diagram-error', role: 'alert', text: t.failed }));
  }
  return viewer;
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', () => mount());
else mount();
