// A line chart of per-epoch curves (uPlot), with a caption that says the
// final values in words for those who do not see the chart.

import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  values: (number | null)[];
}

// Axis ticks: 3 significant digits, small and large values in exponent form
// (learning rates go down to 1e-7).
function tick(v: number): string {
  if (v === 0) return '0';
  return Math.abs(v) < 1e-2 || Math.abs(v) >= 1e5 ? v.toExponential(1) : String(+v.toPrecision(3));
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];

export function EpochChart(props: { title: string; xs: number[]; series: Series[]; caption: string; testId?: string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const key = props.series.map((s) => s.label).join('|');

  // Made again when the series change; data updates go through setData.
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: Math.max(240, el.clientWidth),
      height: 220,
      scales: { x: { time: false } },
      axes: [
        { label: 'epoch', incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500], values: (_u, ticks) => ticks.map((t) => String(t)) },
        { values: (_u, ticks) => ticks.map(tick), size: 64 },
      ],
      legend: { live: false },
      series: [{ label: 'epoch' }, ...props.series.map((s, i) => ({ label: s.label, stroke: COLORS[i % COLORS.length], width: 2, points: { show: true, size: 5 } }))],
    };
    const data = [props.xs, ...props.series.map((s) => s.values)] as uPlot.AlignedData;
    plot.current = new uPlot(opts, data, el);
    const ro = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(240, el.clientWidth), height: 220 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  useEffect(() => {
    plot.current?.setData([props.xs, ...props.series.map((s) => s.values)] as uPlot.AlignedData);
  }, [props.xs, props.series]);

  return (
    <figure class="run-chart" data-testid={props.testId}>
      <figcaption>
        <strong>{props.title}</strong>
        <span class="muted small"> {props.caption}</span>
      </figcaption>
      <div ref={box} role="img" aria-label={`${props.title}: ${props.caption}`} />
    </figure>
  );
}

// "train 0.31, val 0.42 at epoch 5" from the last non-null values.
export function finalValues(xs: number[], series: Series[], digits = 4): string {
  if (!xs.length) return 'no epochs yet';
  const parts = series.map((s) => {
    for (let i = s.values.length - 1; i >= 0; i--) {
      const v = s.values[i];
      if (v !== null && v !== undefined) {
        const text = v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential(2) : v.toFixed(digits);
        return `${s.label} ${text} (epoch ${xs[i]})`;
      }
    }
    return `${s.label} –`;
  });
  return `final: ${parts.join(', ')}`;
}
