import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from refinedweb.data.dedup.buckets import save_array, star_edges
from refinedweb.data.dedup.cluster import ComponentFinder, size_histogram
from refinedweb.data.dedup.tasks import Pieces


def expected_roots(edges: np.ndarray) -> dict[int, int]:
    nodes, inverse = np.unique(edges, return_inverse=True)
    inverse = inverse.reshape(edges.shape)
    n = len(nodes)
    graph = coo_matrix((np.ones(len(edges)), (inverse[:, 0], inverse[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    roots = {}
    for label in np.unique(labels):
        members = nodes[labels == label]
        roots.update({int(m): int(members.min()) for m in members if m != members.min()})
    return roots


@pytest.mark.parametrize("seed,partitions,files", [(0, 1, 1), (1, 3, 2), (2, 7, 3), (3, 4, 1)])
def test_components_match_scipy(tmp_path, seed, partitions, files):
    rng = np.random.default_rng(seed)
    # sparse random graph with chains (long diameters are the hard case) and large node ids
    nodes = rng.choice(1 << 60, size=300, replace=False).astype(np.uint64)
    pairs = rng.integers(0, 300, size=(250, 2))
    chain = np.stack([np.arange(100, 160), np.arange(101, 161)], axis=1)
    edges = nodes[np.concatenate([pairs, chain])]
    paths = []
    for i, part in enumerate(np.array_split(edges, files)):
        paths.append(tmp_path / f"e{i}.npy")
        save_array(paths[-1], part)
    out = ComponentFinder(tmp_path / "cc", partitions, Pieces(1)).run(paths)
    got = {}
    for path in out:
        rows = np.load(path)
        assert np.all(rows[:-1, 0] <= rows[1:, 0])  # sorted by node
        got.update({int(a): int(b) for a, b in rows})
    assert got == expected_roots(edges[edges[:, 0] != edges[:, 1]])


def test_star_edges_link_each_bucket_to_its_smallest_ref():
    records = np.array([[7, 30], [7, 10], [7, 20], [5, 40], [9, 50], [9, 50]], dtype=np.uint64)
    assert star_edges(records).tolist() == [[20, 10], [30, 10]]


def test_size_histogram_bins_by_powers_of_two():
    assert size_histogram(np.array([2, 2, 3, 4, 5, 100])) == {"2": 2, "3-4": 2, "5-8": 1, "65-128": 1}
