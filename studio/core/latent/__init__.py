"""Latent-space exploration: planes, interpolation, PCA directions, breeding, bookmarks and walks.

No Qt here (``studio.core``); the grid panel, the CLI and tests all use these functions.
"""
from studio.core.latent.bookmarks import (add_bookmark, add_path, bookmark_vector, make_bookmark, make_path,
                                          path_points, remove_named, thumbnail_bytes, thumbnail_png, unique_name)
from studio.core.latent.interp import METHODS, as_vectors, lerp, mix, seed_vector, slerp, slerp_pairs, walk, walk_between
from studio.core.latent.learned import learned_codes, learned_plane
from studio.core.latent.planes import (CORNER_NAMES, PLANE_KINDS, PCADirections, Plane, breed,
                                       orthonormal_directions, pca_directions)

__all__ = [
    "METHODS", "PLANE_KINDS", "CORNER_NAMES", "PCADirections", "Plane", "add_bookmark", "add_path", "as_vectors",
    "bookmark_vector", "breed", "learned_codes", "learned_plane", "lerp", "make_bookmark", "make_path", "mix",
    "orthonormal_directions",
    "path_points", "pca_directions", "remove_named", "seed_vector", "slerp", "slerp_pairs", "thumbnail_bytes",
    "thumbnail_png", "unique_name", "walk", "walk_between",
]
