// designer.js: the model-store pages.
//  - <div data-tejun-diff="ID"> + <script type="application/json" id="ID">{"xml_url", "markers": {"added": [...],
//    "changed": [...], "removed": [...]}, "label"}</script>: a diagram (read-only, pan/zoom) with those
//    elements marked tejun-diff-added / -changed / -removed; data-state becomes ready or error.
//  - <div id="tejun-migration" data-progress-url="..."> polls the JSON progress of a migration job every
//    second until it is done, updating [data-job-bar], [data-job-count], [data-job-text], [data-count=KEY]
//    and the results table [data-job-results] (texts from #tejun-migration-texts).
//  - <input type="checkbox" data-check-all="NAME"> ticks every checkbox named NAME in its form.
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';

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

export async function mountDiff(container) {
  const block = document.getElementById(container.dataset.tejunDiff);
  const data = block ? JSON.parse(block.textContent) : {};
  const canvasHost = el('div', { class: 'tejun-diagram-canvas' });
  container.replaceChildren(el('div', { class: 'tejun-diagram-stage', role: 'region', 'aria-label': data.label || '' }, canvasHost));
  const viewer = new NavigatedViewer({ container: canvasHost });
  try {
    const res = await fetch(data.xml_url, { credentials: 'same-origin' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    await viewer.importXML(await res.text());
    const canvas = viewer.get('canvas');
    const registry = viewer.get('elementRegistry');
    const marked = [];
    for (const [kind, ids] of Object.entries(data.markers || {})) {
      for (const id of ids || []) {
        if (registry.get(id)) {
          canvas.addMarker(id, `tejun-diff-${kind}`);
          marked.push(`${kind}:${id}`);
        }
      }
    }
    container.dataset.marked = marked.join(' ');
    canvas.zoom('fit-viewport', 'auto');
    // a diagram inside a closed <details> has no size yet: fit it when it is opened
    container.closest('details')?.addEventListener('toggle', () => {
      canvas.resized();
      canvas.zoom('fit-viewport', 'auto');
    });
    container.dataset.state = 'ready';
  } catch (error) {
    console.error('tejun-designer: cannot show the diagram', error);
    container.dataset.state = 'error';
  }
  return viewer;
}

export function mountProgress(container) {
  const texts = JSON.parse(document.getElementById('tejun-migration-texts')?.textContent || '{}');
  const bar = container.querySelector('[data-job-bar]');
  const count = container.querySelector('[data-job-count]');
  const text = container.querySelector('[data-job-text]');
  const results = container.querySelector('[data-job-results]');
  let failures = 0;

  function show(progress) {
    container.dataset.status = progress.status;
    bar.max = progress.total;
    bar.value = progress.done;
    bar.textContent = `${progress.done} / ${progress.total}`;
    count.textContent = `${progress.done} / ${progress.total}`;
    text.textContent = texts[progress.status] || progress.status;
    for (const item of container.querySelectorAll('[data-count]')) {
      item.querySelector('strong').textContent = String(progress.counts[item.dataset.count] || 0);
    }
    results.replaceChildren(...progress.results.map((r) => el('tr', {},
      el('td', { text: String(r.reference) }),
      el('td', { text: (texts.labels || {})[r.result] || r.result }),
      el('td', { text: r.detail || '' }))));
  }

  async function poll() {
    try {
      const res = await fetch(container.dataset.progressUrl, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const progress = await res.json();
      failures = 0;
      show(progress);
      if (progress.status === 'done') return;
    } catch {
      failures += 1;
      text.textContent = texts.failed || '';
    }
    setTimeout(poll, Math.min(1000 * 2 ** Math.max(failures - 1, 0), 15000));
  }

  if (container.dataset.status !== 'done') setTimeout(poll, 500);
}

function mountCheckAll(box) {
  box.addEventListener('change', () => {
    const form = box.form || box.closest('form');
    for (const other of form.querySelectorAll(`input[type="checkbox"][name="${CSS.escape(box.dataset.checkAll)}"]`)) {
      other.checked = box.checked;
    }
  });
}

function start() {
  for (const container of document.querySelectorAll('[data-tejun-diff]')) mountDiff(container);
  const migration = document.getElementById('tejun-migration');
  if (migration) mountProgress(migration);
  for (const box of document.querySelectorAll('[data-check-all]')) mountCheckAll(box);
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
