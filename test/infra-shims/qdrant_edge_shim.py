"""TEST SHIM, NOT PRODUCT: a tiny Qdrant-compatible REST server over qdrant-edge-py.

No registry ships the Qdrant server, but PyPI `qdrant-edge-py` embeds Qdrant's engine
(segments, HNSW, payload indexes, filters). This file puts the subset of Qdrant's REST API that
adseed's Qdrant adapter uses in front of it, so integration tests can run the real
`@qdrant/js-client-rest` against the real engine. Anything outside that subset answers
400/404 with a message naming what is unsupported, rather than pretending.

Implemented (Qdrant REST paths):
  GET  /  /healthz  /livez  /readyz
  GET  /collections                          PUT|GET|DELETE /collections/{name}
  GET  /collections/{name}/exists
  PUT  /collections/{name}/index             DELETE /collections/{name}/index/{field}
  PUT  /collections/{name}/points            (points list or batch form; always synchronous)
  POST /collections/{name}/points            (retrieve by ids)
  GET  /collections/{name}/points/{id}
  POST /collections/{name}/points/delete     (ids or filter)
  POST /collections/{name}/points/search     POST /collections/{name}/points/query
  POST /collections/{name}/points/scroll     POST /collections/{name}/points/count
  POST /collections/aliases                  GET /aliases  GET /collections/{name}/aliases

One collection = one EdgeShard directory under --data-dir; collection configs and aliases are
kept in JSON beside them so a restart keeps everything. A single lock serialises all calls:
throughput is not the point of a test shim.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import shutil
import signal
import threading
import time
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, unquote, urlsplit

import qdrant_edge as qe

LOG = logging.getLogger("qdrant-edge-shim")
NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,255}$")
MAX_BODY_BYTES = 64 * 1024 * 1024
DISTANCES = {"Cosine": qe.Distance.Cosine, "Euclid": qe.Distance.Euclid,
             "Dot": qe.Distance.Dot, "Manhattan": qe.Distance.Manhattan}
SCHEMA_TYPES = {"keyword": qe.PayloadSchemaType.Keyword, "integer": qe.PayloadSchemaType.Integer,
                "float": qe.PayloadSchemaType.Float, "geo": qe.PayloadSchemaType.Geo,
                "text": qe.PayloadSchemaType.Text, "bool": qe.PayloadSchemaType.Bool,
                "datetime": qe.PayloadSchemaType.Datetime, "uuid": qe.PayloadSchemaType.Uuid}
SCHEMA_NAMES = {v: k for k, v in SCHEMA_TYPES.items()}
# Unnamed ("default") vectors live under this name in the engine.
DEFAULT_VECTOR = ""


class ApiError(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


def bad_request(message: str) -> ApiError:
    return ApiError(HTTPStatus.BAD_REQUEST, f"Wrong input: {message}")


def not_found(message: str) -> ApiError:
    return ApiError(HTTPStatus.NOT_FOUND, f"Not found: {message}")


# ---------------------------------------------------------------------------------------------
# JSON <-> engine conversions
# ---------------------------------------------------------------------------------------------

def parse_point_id(raw: Any) -> int | uuid.UUID:
    if isinstance(raw, bool):
        raise bad_request(f"point id {raw!r} must be an unsigned integer or a UUID")
    if isinstance(raw, int) and raw >= 0:
        return raw
    if isinstance(raw, str):
        try:
            return uuid.UUID(raw)
        except ValueError:
            pass
    raise bad_request(f"point id {raw!r} must be an unsigned integer or a UUID")


def point_id_json(pid: Any) -> int | str:
    return pid if isinstance(pid, int) else str(pid)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def parse_filter(raw: Any) -> qe.Filter | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise bad_request("filter must be an object with must/should/must_not")
    unknown = set(raw) - {"must", "should", "must_not", "min_should"}
    if unknown:
        raise bad_request(f"filter keys {sorted(unknown)} are not supported by the shim")
    min_should = None
    if raw.get("min_should") is not None:
        ms = raw["min_should"]
        min_should = qe.MinShould([parse_condition(c) for c in ms["conditions"]], int(ms["min_count"]))
    return qe.Filter(
        must=[parse_condition(c) for c in _as_list(raw.get("must"))] or None,
        should=[parse_condition(c) for c in _as_list(raw.get("should"))] or None,
        must_not=[parse_condition(c) for c in _as_list(raw.get("must_not"))] or None,
        min_should=min_should,
    )


def parse_match(raw: dict[str, Any]) -> Any:
    if "value" in raw:
        return qe.MatchValue(raw["value"])
    if "any" in raw:
        return qe.MatchAny(raw["any"])
    if "except" in raw:
        return qe.MatchExcept(raw["except"])
    if "text" in raw:
        return qe.MatchText(raw["text"])
    if "text_any" in raw:
        return qe.MatchTextAny(raw["text_any"])
    if "phrase" in raw:
        return qe.MatchPhrase(raw["phrase"])
    raise bad_request(f"match {sorted(raw)} is not supported by the shim")


def parse_range(raw: dict[str, Any]) -> Any:
    bounds = {k: raw.get(k) for k in ("gt", "gte", "lt", "lte") if raw.get(k) is not None}
    if any(isinstance(v, str) for v in bounds.values()):
        return qe.RangeDateTime(**bounds)
    return qe.RangeFloat(**{k: float(v) for k, v in bounds.items()})


def parse_condition(raw: Any) -> Any:
    if not isinstance(raw, dict):
        raise bad_request(f"condition {raw!r} must be an object")
    if "key" in raw:
        supported = {"key", "match", "range", "is_empty", "is_null"}
        unknown = set(raw) - supported
        if unknown:
            raise bad_request(f"field condition keys {sorted(unknown)} are not supported by the shim")
        return qe.FieldCondition(
            raw["key"],
            match=parse_match(raw["match"]) if raw.get("match") is not None else None,
            range=parse_range(raw["range"]) if raw.get("range") is not None else None,
            is_empty=raw.get("is_empty"),
            is_null=raw.get("is_null"),
        )
    if "has_id" in raw:
        return qe.HasIdCondition({parse_point_id(i) for i in raw["has_id"]})
    if "is_empty" in raw:
        return qe.IsEmptyCondition(raw["is_empty"]["key"])
    if "is_null" in raw:
        return qe.IsNullCondition(raw["is_null"]["key"])
    if "has_vector" in raw:
        return qe.HasVectorCondition(raw["has_vector"])
    if "nested" in raw:
        nested_filter = parse_filter(raw["nested"]["filter"])
        assert nested_filter is not None
        return qe.NestedCondition(raw["nested"]["key"], nested_filter)
    if {"must", "should", "must_not"} & set(raw):
        return parse_filter(raw)
    raise bad_request(f"condition {sorted(raw)} is not supported by the shim")


def select_payload(payload: dict[str, Any] | None, selector: Any) -> dict[str, Any] | None:
    """Apply Qdrant's with_payload forms: bool, [keys], {include: [...]}, {exclude: [...]}."""
    if selector is None or selector is False:
        return None
    payload = payload or {}
    if selector is True:
        return payload
    if isinstance(selector, list):
        return {k: v for k, v in payload.items() if k in selector}
    if isinstance(selector, dict) and "include" in selector:
        keep = _as_list(selector["include"])
        return {k: v for k, v in payload.items() if k in keep}
    if isinstance(selector, dict) and "exclude" in selector:
        drop = _as_list(selector["exclude"])
        return {k: v for k, v in payload.items() if k not in drop}
    raise bad_request(f"with_payload {selector!r} is not supported")


class Collection:
    def __init__(self, name: str, path: Path, shard: qe.EdgeShard, params: dict[str, Any]) -> None:
        self.name = name
        self.path = path
        self.shard = shard
        # The client's own `vectors` request, echoed back by GET /collections/{name}.
        self.params = params

    @property
    def unnamed(self) -> bool:
        return "size" in self.params.get("vectors", {})

    def vector_names(self) -> list[str]:
        return [DEFAULT_VECTOR] if self.unnamed else list(self.params["vectors"])

    def to_engine_vector(self, raw: Any) -> dict[str, Any]:
        if isinstance(raw, list):
            if not self.unnamed:
                raise bad_request(f"collection `{self.name}` has named vectors {self.vector_names()}; "
                                  "send vector as an object {name: [...]}")
            return {DEFAULT_VECTOR: raw}
        if isinstance(raw, dict):
            unknown = set(raw) - set(self.vector_names())
            if unknown:
                raise bad_request(f"vector names {sorted(unknown)} not in collection `{self.name}` "
                                  f"(has {self.vector_names()})")
            return raw
        raise bad_request("vector must be a list of floats or an object of named vectors")

    def vector_json(self, vector: Any) -> Any:
        if vector is None:
            return None
        if self.unnamed and isinstance(vector, dict):
            return vector.get(DEFAULT_VECTOR)
        return vector

    def with_vector_arg(self, raw: Any) -> Any:
        if raw is None:
            return False
        if isinstance(raw, list) and self.unnamed:
            return bool(raw)  # there is only the one unnamed vector to select
        return raw

    def record_json(self, rec: Any, with_payload: Any, with_vector: Any) -> dict[str, Any]:
        return {
            "id": point_id_json(rec.id),
            "payload": select_payload(rec.payload, with_payload),
            "vector": self.vector_json(rec.vector) if with_vector else None,
        }

    def scored_json(self, p: Any, with_payload: Any, with_vector: Any) -> dict[str, Any]:
        out = self.record_json(p, with_payload, with_vector)
        out["version"] = p.version
        out["score"] = p.score
        return out


def engine_config(vectors: Any) -> qe.EdgeConfig:
    def params(name: str, raw: Any) -> qe.EdgeVectorParams:
        if not isinstance(raw, dict) or not isinstance(raw.get("size"), int) or raw["size"] <= 0:
            raise bad_request(f"vectors{'.' + name if name else ''}.size must be a positive integer")
        if raw.get("distance") not in DISTANCES:
            raise bad_request(f"vectors{'.' + name if name else ''}.distance must be one of {sorted(DISTANCES)}")
        return qe.EdgeVectorParams(size=raw["size"], distance=DISTANCES[raw["distance"]])

    if not isinstance(vectors, dict) or not vectors:
        raise bad_request("`vectors` is required: {size, distance} or {name: {size, distance}}")
    if "size" in vectors:
        return qe.EdgeConfig(vectors={DEFAULT_VECTOR: params("", vectors)})
    return qe.EdgeConfig(vectors={name: params(name, v) for name, v in vectors.items()})


# ---------------------------------------------------------------------------------------------
# Store: collections and aliases on disk
# ---------------------------------------------------------------------------------------------

class Store:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.collections_dir = data_dir / "collections"
        self.collections_dir.mkdir(parents=True, exist_ok=True)
        self.aliases_file = data_dir / "aliases.json"
        self.lock = threading.RLock()
        self.collections: dict[str, Collection] = {}
        self.aliases: dict[str, str] = {}
        self.operation_id = 0
        self._load()

    def _load(self) -> None:
        for meta in sorted(self.collections_dir.glob("*/shim-collection.json")):
            params = json.loads(meta.read_text())
            name = meta.parent.name
            shard = qe.EdgeShard.load(str(meta.parent / "shard"))
            self.collections[name] = Collection(name, meta.parent, shard, params)
        if self.aliases_file.exists():
            self.aliases = json.loads(self.aliases_file.read_text())
        LOG.info("loaded %d collections, %d aliases from %s", len(self.collections), len(self.aliases), self.data_dir)

    def _save_aliases(self) -> None:
        tmp = self.aliases_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.aliases))
        tmp.replace(self.aliases_file)

    def resolve(self, name: str) -> Collection:
        real = self.aliases.get(name, name)
        coll = self.collections.get(real)
        if coll is None:
            raise not_found(f"Collection `{name}` doesn't exist!")
        return coll

    def next_update(self) -> dict[str, Any]:
        self.operation_id += 1
        return {"operation_id": self.operation_id, "status": "completed"}

    def create(self, name: str, body: dict[str, Any]) -> bool:
        if not NAME_RE.match(name):
            raise bad_request(f"collection name `{name}` must match {NAME_RE.pattern}")
        if name in self.collections or name in self.aliases:
            raise ApiError(HTTPStatus.CONFLICT, f"Wrong input: Collection `{name}` already exists!")
        if body.get("sparse_vectors"):
            raise bad_request("sparse_vectors are not supported by the shim")
        config = engine_config(body.get("vectors"))
        path = self.collections_dir / name
        if path.exists():
            shutil.rmtree(path)
        shard = qe.EdgeShard.create(str(path / "shard"), config)
        params = {"vectors": body["vectors"]}
        (path / "shim-collection.json").write_text(json.dumps(params))
        self.collections[name] = Collection(name, path, shard, params)
        return True

    def delete(self, name: str) -> bool:
        coll = self.collections.pop(name, None)
        if coll is None:
            return False
        coll.shard.close()
        shutil.rmtree(coll.path, ignore_errors=True)
        self.aliases = {a: c for a, c in self.aliases.items() if c != name}
        self._save_aliases()
        return True

    def update_aliases(self, actions: list[dict[str, Any]]) -> bool:
        aliases = dict(self.aliases)  # all-or-nothing, like Qdrant
        for action in actions:
            if "create_alias" in action:
                a = action["create_alias"]
                if a["collection_name"] not in self.collections:
                    raise not_found(f"Collection `{a['collection_name']}` doesn't exist!")
                if a["alias_name"] in self.collections:
                    raise bad_request(f"alias `{a['alias_name']}` is already a collection name")
                aliases[a["alias_name"]] = a["collection_name"]
            elif "delete_alias" in action:
                if aliases.pop(action["delete_alias"]["alias_name"], None) is None:
                    raise not_found(f"Alias `{action['delete_alias']['alias_name']}` doesn't exist!")
            elif "rename_alias" in action:
                a = action["rename_alias"]
                if a["old_alias_name"] not in aliases:
                    raise not_found(f"Alias `{a['old_alias_name']}` doesn't exist!")
                aliases[a["new_alias_name"]] = aliases.pop(a["old_alias_name"])
            else:
                raise bad_request(f"alias action {sorted(action)} is not supported")
        self.aliases = aliases
        self._save_aliases()
        return True

    def close(self) -> None:
        for coll in self.collections.values():
            coll.shard.flush()
            coll.shard.close()
        self.collections.clear()


# ---------------------------------------------------------------------------------------------
# Handlers: (store, match groups, query, body) -> result
# ---------------------------------------------------------------------------------------------

def collection_info(store: Store, coll: Collection) -> dict[str, Any]:
    info = coll.shard.info()
    return {
        "status": "green",
        "optimizer_status": "ok",
        "indexed_vectors_count": info.indexed_vectors_count,
        "points_count": info.points_count,
        "segments_count": info.segments_count,
        "config": {
            "params": {**coll.params, "shard_number": 1, "replication_factor": 1,
                       "write_consistency_factor": 1, "on_disk_payload": True},
            "hnsw_config": {"m": 16, "ef_construct": 100, "full_scan_threshold": 10000,
                            "max_indexing_threads": 0, "on_disk": False},
            "optimizer_config": {"deleted_threshold": 0.2, "vacuum_min_vector_number": 1000,
                                 "default_segment_number": 0, "max_segment_size": None,
                                 "memmap_threshold": None, "indexing_threshold": 20000,
                                 "flush_interval_sec": 5, "max_optimization_threads": None},
            "wal_config": {"wal_capacity_mb": 32, "wal_segments_ahead": 0},
            "quantization_config": None,
        },
        "payload_schema": {
            field: {"data_type": SCHEMA_NAMES.get(idx.data_type, str(idx.data_type)), "points": idx.points}
            for field, idx in info.payload_schema.items()
        },
    }


def upsert(store: Store, coll: Collection, body: dict[str, Any]) -> dict[str, Any]:
    points: list[qe.Point] = []
    if "points" in body:
        for p in body["points"]:
            points.append(qe.Point(parse_point_id(p.get("id")), coll.to_engine_vector(p.get("vector")), p.get("payload")))
    elif "batch" in body:
        batch = body["batch"]
        ids = batch["ids"]
        vectors = batch["vectors"]
        payloads = batch.get("payloads") or [None] * len(ids)
        for i, raw_id in enumerate(ids):
            vec = vectors[i] if isinstance(vectors, list) else {n: v[i] for n, v in vectors.items()}
            points.append(qe.Point(parse_point_id(raw_id), coll.to_engine_vector(vec), payloads[i]))
    else:
        raise bad_request("upsert body needs `points` or `batch`")
    if points:
        coll.shard.update(qe.UpdateOperation.upsert_points(points))
    return store.next_update()


def delete_points(store: Store, coll: Collection, body: dict[str, Any]) -> dict[str, Any]:
    if "points" in body:
        coll.shard.update(qe.UpdateOperation.delete_points([parse_point_id(i) for i in body["points"]]))
    elif "filter" in body:
        flt = parse_filter(body["filter"])
        assert flt is not None
        coll.shard.update(qe.UpdateOperation.delete_points_by_filter(flt))
    else:
        raise bad_request("delete body needs `points` (ids) or `filter`")
    return store.next_update()


def create_index(store: Store, coll: Collection, body: dict[str, Any]) -> dict[str, Any]:
    schema = body.get("field_schema")
    type_name = schema.get("type") if isinstance(schema, dict) else schema
    if type_name not in SCHEMA_TYPES or not body.get("field_name"):
        raise bad_request(f"field_name and field_schema (one of {sorted(SCHEMA_TYPES)}) are required")
    coll.shard.update(qe.UpdateOperation.create_field_index(body["field_name"], SCHEMA_TYPES[type_name]))
    return store.next_update()


def nearest(coll: Collection, vector: Any, using: str | None) -> qe.Query:
    if not isinstance(vector, list) or not all(isinstance(x, (int, float)) for x in vector):
        raise bad_request("query vector must be a list of numbers (dense vectors only in the shim)")
    name = using if using is not None else DEFAULT_VECTOR
    if name not in coll.vector_names():
        raise bad_request(f"vector `{name}` not in collection `{coll.name}`: pass `using` with one of {coll.vector_names()}")
    return qe.Query.Nearest([float(x) for x in vector], using=name)


def run_query(coll: Collection, q: qe.Query | None, body: dict[str, Any], default_payload: Any) -> list[dict[str, Any]]:
    with_payload = body.get("with_payload", default_payload)
    with_vector = body.get("with_vector", False)
    limit = int(body.get("limit") or 10)
    offset = int(body.get("offset") or 0)
    flt = parse_filter(body.get("filter"))
    if q is None:
        # Qdrant's query without `query` lists points by id.
        records, _ = coll.shard.scroll(qe.ScrollRequest(limit=offset + limit, filter=flt, with_payload=True,
                                                        with_vector=coll.with_vector_arg(with_vector)))
        return [{**coll.record_json(r, with_payload, with_vector), "version": 0, "score": 1.0}
                for r in records[offset:]]
    request = qe.QueryRequest(limit=limit, offset=offset, query=q, filter=flt,
                              score_threshold=body.get("score_threshold"), with_payload=True,
                              with_vector=coll.with_vector_arg(with_vector))
    return [coll.scored_json(p, with_payload, with_vector) for p in coll.shard.query(request)]


def query_points(store: Store, coll: Collection, body: dict[str, Any]) -> dict[str, Any]:
    if body.get("prefetch") or body.get("lookup_from"):
        raise bad_request("prefetch and lookup_from are not supported by the shim")
    raw = body.get("query")
    if isinstance(raw, dict):
        if "nearest" not in raw:
            raise bad_request(f"query {sorted(raw)} is not supported by the shim (only nearest)")
        raw = raw["nearest"]
    if raw is not None and not isinstance(raw, list):
        raise bad_request("query by point id is not supported by the shim; send the vector")
    q = nearest(coll, raw, body.get("using")) if raw is not None else None
    return {"points": run_query(coll, q, body, default_payload=False)}


def search_points(store: Store, coll: Collection, body: dict[str, Any]) -> list[dict[str, Any]]:
    raw = body.get("vector")
    using = None
    if isinstance(raw, dict):
        using, raw = raw.get("name"), raw.get("vector")
    return run_query(coll, nearest(coll, raw, using), body, default_payload=False)


def retrieve(coll: Collection, ids: list[Any], with_payload: Any, with_vector: Any) -> list[dict[str, Any]]:
    recs = coll.shard.retrieve([parse_point_id(i) for i in ids], with_payload=True,
                               with_vector=coll.with_vector_arg(with_vector))
    return [coll.record_json(r, with_payload, with_vector) for r in recs]


def scroll(store: Store, coll: Collection, body: dict[str, Any]) -> dict[str, Any]:
    if body.get("order_by"):
        raise bad_request("order_by is not supported by the shim")
    with_payload = body.get("with_payload", True)
    with_vector = body.get("with_vector", False)
    offset = parse_point_id(body["offset"]) if body.get("offset") is not None else None
    records, next_offset = coll.shard.scroll(qe.ScrollRequest(
        offset=offset, limit=int(body.get("limit") or 10), filter=parse_filter(body.get("filter")),
        with_payload=True, with_vector=coll.with_vector_arg(with_vector)))
    return {"points": [coll.record_json(r, with_payload, with_vector) for r in records],
            "next_page_offset": point_id_json(next_offset) if next_offset is not None else None}


Route = tuple[str, re.Pattern[str], Callable[..., Any]]
SEG = r"([^/]+)"


def routes() -> list[Route]:
    def coll_route(fn: Callable[[Store, Collection, dict[str, Any]], Any]) -> Callable[..., Any]:
        return lambda store, groups, query, body: fn(store, store.resolve(groups[0]), body)

    table: list[tuple[str, str, Callable[..., Any]]] = [
        ("GET", r"/collections", lambda s, g, q, b: {"collections": [{"name": n} for n in sorted(s.collections)]}),
        ("GET", r"/aliases", lambda s, g, q, b: {"aliases": [{"alias_name": a, "collection_name": c}
                                                             for a, c in sorted(s.aliases.items())]}),
        ("POST", r"/collections/aliases", lambda s, g, q, b: s.update_aliases(b.get("actions") or [])),
        ("GET", rf"/collections/{SEG}/exists",
         lambda s, g, q, b: {"exists": g[0] in s.collections or g[0] in s.aliases}),
        ("GET", rf"/collections/{SEG}/aliases", lambda s, g, q, b: {"aliases": [
            {"alias_name": a, "collection_name": c} for a, c in sorted(s.aliases.items()) if c == s.resolve(g[0]).name]}),
        ("PUT", rf"/collections/{SEG}/index", coll_route(create_index)),
        ("DELETE", rf"/collections/{SEG}/index/{SEG}", lambda s, g, q, b: (
            s.resolve(g[0]).shard.update(qe.UpdateOperation.delete_field_index(g[1])), s.next_update())[1]),
        ("PUT", rf"/collections/{SEG}/points", coll_route(upsert)),
        ("POST", rf"/collections/{SEG}/points", lambda s, g, q, b: retrieve(
            s.resolve(g[0]), b.get("ids") or [], b.get("with_payload", True), b.get("with_vector", False))),
        ("POST", rf"/collections/{SEG}/points/delete", coll_route(delete_points)),
        ("POST", rf"/collections/{SEG}/points/search", coll_route(search_points)),
        ("POST", rf"/collections/{SEG}/points/query", coll_route(query_points)),
        ("POST", rf"/collections/{SEG}/points/scroll", coll_route(scroll)),
        ("POST", rf"/collections/{SEG}/points/count", lambda s, g, q, b: {"count": s.resolve(g[0]).shard.count(
            qe.CountRequest(exact=True, filter=parse_filter(b.get("filter"))))}),
        ("GET", rf"/collections/{SEG}/points/{SEG}", lambda s, g, q, b: _retrieve_one(s.resolve(g[0]), g[1])),
        ("GET", rf"/collections/{SEG}", lambda s, g, q, b: collection_info(s, s.resolve(g[0]))),
        ("PUT", rf"/collections/{SEG}", lambda s, g, q, b: s.create(g[0], b)),
        ("DELETE", rf"/collections/{SEG}", lambda s, g, q, b: s.delete(g[0])),
    ]
    return [(method, re.compile(f"^{pattern}$"), fn) for method, pattern, fn in table]


def _retrieve_one(coll: Collection, raw_id: str) -> dict[str, Any]:
    pid: Any = int(raw_id) if raw_id.isdigit() else raw_id
    found = retrieve(coll, [pid], True, True)
    if not found:
        raise not_found(f"No point with id {raw_id} found")
    return found[0]


# ---------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------

def make_handler(store: Store, version: str) -> type[BaseHTTPRequestHandler]:
    table = routes()

    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.1 keep-alive: the JS client (undici) reuses connections.
        protocol_version = "HTTP/1.1"
        server_version = "qdrant-edge-shim"

        def log_message(self, fmt: str, *args: Any) -> None:
            LOG.debug("%s " + fmt, self.address_string(), *args)

        def _send(self, status: int, payload: Any, content_type: str = "application/json") -> None:
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _dispatch(self, method: str) -> None:
            started = time.perf_counter()
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self._send(413, {"status": {"error": f"body over {MAX_BODY_BYTES} bytes"}, "time": 0})
                self.close_connection = True
                return
            raw_body = self.rfile.read(length) if length else b""
            url = urlsplit(self.path)
            path = unquote(url.path.rstrip("/")) or "/"
            if method == "GET" and path == "/":
                self._send(200, {"title": "qdrant - vector search engine (qdrant-edge test shim)", "version": version})
                return
            if method == "GET" and path in ("/healthz", "/livez", "/readyz"):
                self._send(200, b"healthz check passed", "text/plain")
                return
            try:
                body = json.loads(raw_body) if raw_body else {}
                if not isinstance(body, dict):
                    raise bad_request("request body must be a JSON object")
                for route_method, pattern, fn in table:
                    m = pattern.match(path)
                    if m and route_method == method:
                        with store.lock:
                            result = fn(store, [unquote(g) for g in m.groups()], parse_qs(url.query), body)
                        self._send(200, {"result": result, "status": "ok", "time": time.perf_counter() - started})
                        return
                raise not_found(f"{method} {path} is not implemented by the qdrant-edge test shim")
            except ApiError as err:
                self._send(err.status, {"status": {"error": str(err)}, "time": time.perf_counter() - started})
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
                self._send(400, {"status": {"error": f"Wrong input: {type(err).__name__}: {err}"},
                                 "time": time.perf_counter() - started})
            except Exception as err:  # the engine's own errors (e.g. dimension mismatch)
                LOG.exception("%s %s failed", method, path)
                self._send(500, {"status": {"error": f"Service internal error: {err}"},
                                 "time": time.perf_counter() - started})

        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_PUT(self) -> None:
            self._dispatch("PUT")

        def do_POST(self) -> None:
            self._dispatch("POST")

        def do_DELETE(self) -> None:
            self._dispatch("DELETE")

        def do_PATCH(self) -> None:
            self._dispatch("PATCH")

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description="Qdrant REST test shim over qdrant-edge-py")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=16333)
    parser.add_argument("--data-dir", type=Path, required=True)
    # What GET / reports; @qdrant/js-client-rest warns when its minor differs by more than one.
    parser.add_argument("--report-version", default="1.18.0")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    store = Store(args.data_dir)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(store, args.report_version))
    server.daemon_threads = True

    def stop(signum: int, _frame: Any) -> None:
        LOG.info("signal %d: shutting down", signum)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    LOG.info("listening on http://%s:%d (data %s)", args.host, args.port, args.data_dir)
    try:
        server.serve_forever()
    finally:
        with store.lock:
            store.close()
        LOG.info("stopped; shards flushed")


if __name__ == "__main__":
    main()
