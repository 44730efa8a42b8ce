"""uvicorn's own access line is replaced by `web.access_log`'s: once Agora has configured
logging, a uvicorn connection makes no access line at all, not even its arguments
(uvicorn decides that per connection, from whether its access logger has a handler)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from logs import configure_logging


@pytest.fixture
def restored_logging() -> Iterator[None]:
    names = ("", "uvicorn", "uvicorn.error", "uvicorn.access")
    kept = {
        name: (logger.handlers[:], logger.propagate, logger.level, logger.disabled)
        for name in names
        for logger in [logging.getLogger(name)]
    }
    yield
    for name, (handlers, propagate, level, disabled) in kept.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.propagate, logger.disabled = propagate, disabled
        logger.setLevel(level)


@pytest.mark.parametrize("level", ["INFO", "DEBUG", "WARNING"])
def test_a_uvicorn_connection_makes_no_access_line(restored_logging: None, level: str) -> None:
    # The order of `uvicorn app:app`: uvicorn configures its loggers, then loads the
    # app, which configures Agora's logging.
    config = Config(app=Starlette(), access_log=False)
    configure_logging(level, json=True)
    config.load()
    protocol = HttpToolsProtocol(config=config, server_state=ServerState(), app_state={})
    assert protocol.access_log is False
    # uvicorn's lifecycle lines still reach the root handler.
    assert logging.getLogger("uvicorn.error").hasHandlers()
