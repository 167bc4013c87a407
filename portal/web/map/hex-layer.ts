import { ColumnLayer, H3HexagonLayer, SolidPolygonLayer } from 'deck.gl';
import { heat, HexColumnBuilder, SUPPRESSED, type HexCell, type HexColumns } from './hex-cells.ts';
import { HexPolygonBuilder, POLYGON_CELL_LIMIT } from './hex-polygons.ts';

/**
 * The heat map's cells on a GeoMap: each cell's own outline up to POLYGON_CELL_LIMIT cells (no
 * seams), one shared hexagon at every centre above it (cheap), and deck.gl's H3 layer for a large
 * set of mixed resolutions or with a pentagon. `set` takes a new answer, `layer` is what to draw.
 */
export class HeatCells {
  private cells: HexCell[] = [];
  private cellMax = 1;
  private readonly columns = new HexColumnBuilder();
  private readonly polygons = new HexPolygonBuilder();
  /** The cells as binary polygons, each its own outline (no seams), when they are few enough. */
  private cellPolygons: object | null = null;
  /** The cells as binary attributes (one shared hexagon), or null when they need per-cell polygons. */
  private cellColumns: { cols: HexColumns; data: object } | null = null;

  set(cells: HexCell[]): void {
    this.cellPolygons = null;
    if (cells.length <= POLYGON_CELL_LIMIT) {
      // Each cell's exact outline: neighbours share their edges, so no seam shows between them.
      const p = this.polygons.build(cells);
      this.cells = [];
      this.cellColumns = null;
      this.cellPolygons = {
        length: p.length,
        startIndices: p.startIndices,
        attributes: { getPolygon: { value: p.positions, size: 2 }, getFillColor: { value: p.colors, size: 4 } },
      };
      return;
    }
    const cols = this.columns.build(cells);
    if (cols.vertices) {
      this.cells = [];
      this.cellColumns = {
        cols,
        data: {
          length: cols.length,
          attributes: { getPosition: { value: cols.positions, size: 2 }, getFillColor: { value: cols.colors, size: 4 } },
        },
      };
    } else {
      // Mixed resolutions or a pentagon: per-cell polygons (deck.gl's H3 layer).
      this.cellColumns = null;
      this.cells = cells;
      this.cellMax = cells.reduce((m, c) => Math.max(m, c.count ?? 0), 1);
    }
  }

  layer() {
    if (this.cellPolygons)
      return new SolidPolygonLayer({
        id: 'cell-polygons',
        data: this.cellPolygons as never,
        _normalize: false,
        filled: true,
        extruded: false,
        pickable: true,
      });
    const c = this.cellColumns;
    if (c)
      return new ColumnLayer({
        id: 'cells',
        data: c.data as never,
        diskResolution: 6,
        radius: 1,
        vertices: c.cols.vertices!,
        extruded: false,
        stroked: false,
        flatShading: true,
        pickable: true,
      });
    return new H3HexagonLayer<HexCell>({
      id: 'cells-h3',
      data: this.cells,
      getHexagon: (d) => d.h3,
      getFillColor: (d) => (d.count === null ? SUPPRESSED : heat(d.count / this.cellMax)),
      extruded: false,
      stroked: false,
      pickable: true,
      updateTriggers: { getFillColor: [this.cellMax] },
    });
  }
}
