"""Maps a query embedding through a running harmonyd and writes the final corrections.

    python3 map_tsv.py --socket /tmp/harmonyd.sock query.tsv meta.tsv batch mapped.tsv

query.tsv: header row, cell id then one column per dimension; meta.tsv: header row, cell id first, with the
batch column named on the command line. Needs numpy only (no pandas, no anndata).
"""

import argparse
import sys

import numpy as np

from harmony_swift.harmony_client import HarmonyClient, MapRequest


def read_table(path):
    with open(path) as fh:
        rows = [line.rstrip("\n").split("\t") for line in fh if line.strip()]
    return rows[0], rows[1:]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--socket", required=True, help="harmonyd socket path")
    parser.add_argument("--chunk-size", type=int, default=1000, help="cells per MAP request")
    parser.add_argument("query")
    parser.add_argument("meta")
    parser.add_argument("batch_key")
    parser.add_argument("out")
    args = parser.parse_args(argv)

    header, rows = read_table(args.query)
    ids = [row[0] for row in rows]
    cells = np.array([row[1:] for row in rows], dtype=np.float32)
    meta_header, meta_rows = read_table(args.meta)
    column = meta_header.index(args.batch_key)
    batch_of = {row[0]: row[column] for row in meta_rows}
    batches = np.array([batch_of[i] for i in ids])

    with HarmonyClient.connect(args.socket) as client:
        print("server:", client.hello().server_name, file=sys.stderr)
        info = client.info()
        print(f"model version {info.model_version}: d = {info.dimensions}, K = {info.clusters}", file=sys.stderr)
        levels = list(dict.fromkeys(batches))
        requests = []
        for level in levels:
            rows_of = np.flatnonzero(batches == level)
            for start in range(0, len(rows_of), args.chunk_size):
                part = rows_of[start:start + args.chunk_size]
                requests.append(MapRequest(level, cells[part], [ids[r] for r in part]))
        client.map_many(requests, window=4)
        corrected = np.zeros_like(cells)
        for level in levels:
            export = client.export(level)
            position = {cell: k for k, cell in enumerate(export.cell_ids)}
            rows_of = np.flatnonzero(batches == level)
            corrected[rows_of] = export.corrected[[position[ids[r]] for r in rows_of]]
        stats = client.stats()
        print(f"cells mapped: {stats.cells_mapped}, p99 latency {stats.latency_us['p99']} us", file=sys.stderr)

    with open(args.out, "w") as fh:
        fh.write("\t".join(header) + "\n")
        for cell, row in zip(ids, corrected):
            fh.write(cell + "\t" + "\t".join(repr(float(v)) for v in row) + "\n")


if __name__ == "__main__":
    main()
