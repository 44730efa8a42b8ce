"""DataLoaders, built fresh for every request (and every subscription event)."""

from loaders.registry import Loaders, build_loaders

__all__ = ["Loaders", "build_loaders"]
