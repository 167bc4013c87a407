import type * as maplibregl from 'maplibre-gl';
import {
  TerraDraw,
  TerraDrawCircleMode,
  TerraDrawLineStringMode,
  TerraDrawPolygonMode,
  TerraDrawRectangleMode,
  TerraDrawSelectMode,
  type GeoJSONStoreFeatures,
} from 'terra-draw';
import { TerraDrawMapLibreGLAdapter } from 'terra-draw-maplibre-gl-adapter';
import type { RegionPart } from '@geo/alerting';
import { DEFAULT_BUFFER_M, featureToPart, partToFeature, type DrawnFeature } from './region-parts.ts';
import { subtractShape } from './subtract-shape.ts';
import { mt } from './zh-CN.ts';

export type DrawTool = 'polygon' | 'rectangle' | 'circle' | 'linestring' | 'select';

const BLUE = '#2f7de1' as const;
const RED = '#e5484d' as const;
/** terra-draw's mode for the shape being cut out (挖空): drawn like a polygon, in red, never kept. */
const CUT = 'cut';

/** A part terra-draw can hold and edit: it refuses polygons with holes, and has no multipolygons. */
const editable = (p: RegionPart) => (p.kind === 'polygon' ? p.rings.length === 1 : p.kind !== 'multipolygon' && p.kind !== 'admin');

/**
 * The drawing half of the console's map (split from geo-map.ts along its seam, #20): terra-draw's
 * tools, the shapes they hold, and 挖空 / 减去区域 — a shape drawn in red is cut out of the drawn
 * areas under it ({@link subtractShape}). Shapes with holes or in several pieces cannot be edited in
 * terra-draw; they are kept here, drawn by the map's deck.gl layer, and sent with the rest.
 */
export class RegionDrawing {
  private readonly draw: TerraDraw;
  /** Drawn areas terra-draw cannot hold (a hole, several pieces). */
  private fixed: RegionPart[] = [];
  private bufferM = DEFAULT_BUFFER_M;
  private emitTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly cutButton: HTMLButtonElement;

  /** @param changed called (debounced) whenever the shapes changed: drawn, edited, cut, deleted, cleared */
  constructor(
    map: maplibregl.Map,
    private readonly changed: (parts: RegionPart[]) => void,
  ) {
    const fill = { fillColor: BLUE, outlineColor: BLUE, fillOpacity: 0.2, outlineWidth: 2 } as const;
    this.draw = new TerraDraw({
      adapter: new TerraDrawMapLibreGLAdapter({ map, coordinatePrecision: 7 }),
      modes: [
        new TerraDrawPolygonMode({ styles: fill }),
        new TerraDrawPolygonMode({ modeName: CUT, styles: { fillColor: RED, outlineColor: RED, fillOpacity: 0.25, outlineWidth: 2 } }),
        new TerraDrawRectangleMode({ styles: fill }),
        new TerraDrawCircleMode({ styles: fill }),
        new TerraDrawLineStringMode({ styles: { lineStringColor: BLUE, lineStringWidth: 3 } }),
        new TerraDrawSelectMode({
          flags: {
            polygon: { feature: { draggable: true, coordinates: { midpoints: true, draggable: true, deletable: true } } },
            rectangle: { feature: { draggable: true, coordinates: { draggable: true, resizable: 'opposite' } } },
            circle: { feature: { draggable: true } },
            linestring: { feature: { draggable: true, coordinates: { midpoints: true, draggable: true, deletable: true } } },
          },
        }),
      ],
    });
    this.draw.start();
    this.draw.on('finish', (id) => {
      const f = this.draw.getSnapshotFeature(id);
      if (f?.properties.mode === CUT) return this.cutWith(id);
      if (f?.properties.mode === 'linestring' && f.properties.bufferM === undefined)
        this.draw.updateFeatureProperties(id, { bufferM: this.bufferM });
      this.emit();
    });
    this.draw.on('change', (_ids, type) => {
      if (type === 'delete' || this.draw.getMode() === 'select') this.emit();
    });
    this.cutButton = cutControl(map, () => this.armCut(this.draw.getMode() !== CUT));
  }

  private emit(): void {
    clearTimeout(this.emitTimer);
    this.emitTimer = setTimeout(() => this.changed(this.getShapes()), 150);
  }

  /** 挖空: the next polygon drawn is cut out of the areas under it (false: back to panning). */
  armCut(on: boolean): void {
    this.draw.setMode(on ? CUT : 'static');
    this.cutButton.classList.toggle('active', on);
    this.cutButton.style.background = on ? '#dbe8fb' : '';
  }

  private cutWith(id: string | number): void {
    const f = this.draw.getSnapshotFeature(id) as unknown as DrawnFeature | undefined;
    this.draw.removeFeatures([id]);
    this.armCut(false);
    const ring = f?.geometry.type === 'Polygon' ? (f.geometry.coordinates as [number, number][][])[0] : undefined;
    if (!ring) return;
    const { parts, cut } = subtractShape(this.getShapes(), ring);
    this.cutButton.dataset.cut = String(cut);
    this.cutButton.title = cut ? mt.cutDone(cut) : mt.cutNothing;
    if (cut) this.setShapes(parts);
  }

  /** Picks a drawing tool; null returns to panning. */
  setTool(tool: DrawTool | null): void {
    this.armCut(false);
    this.draw.setMode(tool ?? 'static');
  }

  /** Buffer width (each side, metres) for new polylines, and for the selected one. */
  setBufferM(m: number): void {
    this.bufferM = m;
    const sel = this.draw.getSnapshot().find((f) => f.properties.selected && f.properties.mode === 'linestring');
    if (sel) {
      this.draw.updateFeatureProperties(sel.id!, { bufferM: m });
      this.emit();
    }
  }

  deleteSelected(): void {
    const ids = this.draw
      .getSnapshot()
      .filter((f) => f.properties.selected)
      .map((f) => f.id!);
    if (ids.length) {
      this.draw.removeFeatures(ids);
      this.emit();
    }
  }

  clearShapes(): void {
    this.draw.clear();
    this.fixed = [];
    this.emit();
  }

  /** The drawn shapes as region parts of the alert-task contract (those with holes included). */
  getShapes(): RegionPart[] {
    const features = this.draw.getSnapshot() as unknown as DrawnFeature[];
    const drawn = features
      .filter((f) => f.properties.mode !== CUT)
      .map(featureToPart)
      .filter((p): p is RegionPart => !!p);
    return [...drawn, ...this.fixed];
  }

  /** The drawn areas terra-draw cannot hold, for the map to draw. */
  fixedParts(): RegionPart[] {
    return this.fixed;
  }

  /** Replaces the drawn shapes (a draft, "send again", a cut). Admin parts are not drawn shapes. */
  setShapes(parts: RegionPart[]): void {
    this.draw.clear();
    this.fixed = parts.filter((p) => p.kind !== 'admin' && !editable(p));
    const features = parts
      .filter(editable)
      .map(partToFeature)
      .filter((f): f is DrawnFeature => !!f)
      .map((f) => ({ ...f, id: this.draw.getFeatureId() }));
    this.draw.addFeatures(features as unknown as GeoJSONStoreFeatures[]);
    this.emit();
  }

  stop(): void {
    clearTimeout(this.emitTimer);
    this.draw.stop();
  }
}

/** The 挖空 button, on the map itself (top left): the send page's toolbar is the page's. */
function cutControl(map: maplibregl.Map, onClick: () => void): HTMLButtonElement {
  const box = document.createElement('div');
  box.className = 'maplibregl-ctrl maplibregl-ctrl-group geo-cut-tool';
  const button = document.createElement('button');
  button.type = 'button';
  button.dataset.tool = 'cut';
  button.textContent = mt.cut;
  button.title = mt.cutHint;
  // A labelled button, wider than maplibre's square icon buttons.
  button.style.cssText = 'width:auto;padding:0 8px;font-size:12px;white-space:nowrap';
  button.addEventListener('click', onClick);
  box.append(button);
  map.addControl({ onAdd: () => box, onRemove: () => box.remove() }, 'top-left');
  return button;
}
