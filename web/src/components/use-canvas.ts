/**
 * @module A canvas sized to its container at the device's pixel ratio, redrawn when its size or its
 * inputs change. Every chart, map and graph draws through it.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'react';

export interface CanvasSize { width: number; height: number; ratio: number }

/** Returns a ref for the wrapper element and a ref for the canvas, plus the CSS-pixel size of the canvas. */
export function useCanvas(height: number): {
  wrapRef: React.RefObject<HTMLDivElement | null>;
  canvasRef: React.RefObject<HTMLCanvasElement | null>;
  size: CanvasSize;
} {
  const wrapRef = useRef<HTMLDivElement | null>(null);
  const canvasRef = useRef<HTMLCanvasElement | null>(null);
  const [size, setSize] = useState<CanvasSize>({ width: 0, height, ratio: 1 });

  useLayoutEffect(() => {
    const el = wrapRef.current;
    if (!el) return;
    const measure = (): void => {
      // A zero width means the wrapper is momentarily not laid out (hidden, being re-laid out): keep the
      // last size rather than shrinking the canvas to nothing.
      const width = Math.floor(el.clientWidth);
      if (width <= 0) return;
      const ratio = Math.min(2, window.devicePixelRatio || 1);
      setSize((s) => (s.width === width && s.height === height && s.ratio === ratio ? s : { width, height, ratio }));
    };
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, [height]);

  useEffect(() => {
    const c = canvasRef.current;
    if (!c || size.width === 0) return;
    c.width = Math.round(size.width * size.ratio);
    c.height = Math.round(size.height * size.ratio);
    c.style.width = `${size.width}px`;
    c.style.height = `${size.height}px`;
  }, [size]);

  return { wrapRef, canvasRef, size };
}

/** A 2D context scaled so drawing code works in CSS pixels. */
export function context2d(canvas: HTMLCanvasElement, size: CanvasSize): CanvasRenderingContext2D | null {
  if (canvas.width !== Math.round(size.width * size.ratio)) {
    canvas.width = Math.round(size.width * size.ratio);
    canvas.height = Math.round(size.height * size.ratio);
    canvas.style.width = `${size.width}px`;
    canvas.style.height = `${size.height}px`;
  }
  const ctx = canvas.getContext('2d');
  if (!ctx) return null;
  ctx.setTransform(size.ratio, 0, 0, size.ratio, 0, 0);
  return ctx;
}
