"""DuckDB reading straight from a SeaweedFS bucket over ``s3://``, as a user queries tracedrop's output.

The httpfs extension is the file the ``duckdb-extension-httpfs`` wheel installs, loaded by path: DuckDB is told
never to install or load an extension by itself, so nothing is downloaded from its extension server.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import duckdb_extension_httpfs

from tests.stack import ADMIN_KEY, SeaweedFS

HTTPFS = (Path(duckdb_extension_httpfs.__file__).parent / "extensions" / f"v{duckdb.__version__}"
          / "httpfs.duckdb_extension")


def duckdb_on(store: SeaweedFS) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB whose ``s3://`` URLs are this SeaweedFS's buckets (admin credentials)."""
    if not HTTPFS.is_file():
        raise RuntimeError(f"{HTTPFS} missing: duckdb-extension-httpfs must be the same version as duckdb")
    connection = duckdb.connect(config={"autoinstall_known_extensions": False,
                                        "autoload_known_extensions": False})
    connection.execute(f"LOAD '{HTTPFS}'")
    host = store.endpoint.removeprefix("http://")
    connection.execute(f"CREATE SECRET seaweedfs (TYPE s3, KEY_ID '{ADMIN_KEY}', SECRET '{store.secret()}', "
                       f"ENDPOINT '{host}', URL_STYLE 'path', USE_SSL false, REGION 'us-east-1')")
    return connection
