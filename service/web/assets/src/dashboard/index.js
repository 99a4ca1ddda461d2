// dashboard.js: draws each dashboard chart with Chart.js from the table next to it (the table is the chart's
// accessible, always-present form; the canvas is decoration, aria-hidden). Mount contract:
//   <figure class="dash-chart" data-chart="bar|doughnut">
//     <canvas aria-hidden="true"></canvas>
//     <table> <thead><tr><th data-role="label|value">…</th>…</tr></thead>
//             <tbody><tr><td data-value="12">12</td>…</tr></tbody> </table>
//   </figure>
// Columns marked data-role="label" name the bars (joined with " · "), data-role="value" are the series.
import {
  ArcElement, BarController, BarElement, CategoryScale, Chart, DoughnutController, Legend, LinearScale, Tooltip,
} from 'chart.js';

Chart.register(ArcElement, BarController, BarElement, CategoryScale, DoughnutController, Legend, LinearScale,
  Tooltip);

// colour-blind-safe (Okabe–Ito)
const COLOURS = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];

function readTable(table) {
  const heads = [...table.querySelectorAll('thead th')];
  const labelCols = heads.map((th, i) => (th.dataset.role === 'label' ? i : -1)).filter((i) => i >= 0);
  const valueCols = heads.map((th, i) => (th.dataset.role === 'value' ? i : -1)).filter((i) => i >= 0);
  const rows = [...table.querySelectorAll('tbody tr')].filter((tr) => !tr.querySelector('td.empty'));
  const labels = rows.map((tr) => labelCols.map((i) => tr.children[i].textContent.trim())
    .filter((t) => t && t !== '—').join(' · ') || '—');
  const series = valueCols.map((i, n) => ({
    label: heads[i].textContent.trim(),
    data: rows.map((tr) => Number(tr.children[i].dataset.value || 0)),
    backgroundColor: COLOURS[n % COLOURS.length],
  }));
  return { labels, series };
}

function draw(figure) {
  const canvas = figure.querySelector('canvas');
  const table = figure.querySelector('table');
  if (!canvas || !table) return;
  const { labels, series } = readTable(table);
  if (!labels.length) {
    canvas.closest('.dash-canvas').hidden = true;
    return;
  }
  const kind = figure.dataset.chart === 'doughnut' ? 'doughnut' : 'bar';
  const datasets = kind === 'doughnut'
    ? [{ ...series[0], backgroundColor: labels.map((_, i) => COLOURS[i % COLOURS.length]) }]
    : series;
  // eslint-disable-next-line no-new
  new Chart(canvas, {
    type: kind,
    data: { labels, datasets },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      indexAxis: kind === 'bar' && labels.length > 6 ? 'y' : 'x',
      plugins: { legend: { display: kind === 'doughnut' || datasets.length > 1, position: 'bottom' } },
      scales: kind === 'bar' ? { x: { beginAtZero: true }, y: { beginAtZero: true } } : {},
    },
  });
}

function start() {
  document.querySelectorAll('figure.dash-chart').forEach(draw);
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
