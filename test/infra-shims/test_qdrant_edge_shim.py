"""Tests for the qdrant-edge test shim: the error paths and restart behaviour the JS smoke
(scripts/infra/smoke/qdrant.mjs) does not reach.

    .cache/infra/venv/bin/python -m unittest discover -s test/infra-shims
"""

import json
import tempfile
import threading
import unittest
import urllib.error
import urllib.request
import uuid
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import qdrant_edge_shim as shim


class ShimServer:
    def __init__(self, data_dir: Path) -> None:
        self.store = shim.Store(data_dir)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), shim.make_handler(self.store, "1.18.0"))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.store.close()


class QdrantEdgeShimTest(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.server = ShimServer(Path(self.tmp.name))

    def tearDown(self) -> None:
        self.server.close()
        self.tmp.cleanup()

    def create(self, name: str = "photos") -> None:
        status, _ = self.server.call("PUT", f"/collections/{name}",
                                     {"vectors": {"image": {"size": 3, "distance": "Cosine"}}})
        self.assertEqual(status, 200)

    def test_unknown_collection_is_404_with_its_name(self) -> None:
        status, body = self.server.call("POST", "/collections/missing/points/query", {"query": [1, 0, 0]})
        self.assertEqual(status, 404)
        self.assertIn("missing", body["status"]["error"])

    def test_duplicate_collection_is_409(self) -> None:
        self.create()
        status, _ = self.server.call("PUT", "/collections/photos", {"vectors": {"size": 3, "distance": "Dot"}})
        self.assertEqual(status, 409)

    def test_bad_input_is_400_naming_the_problem(self) -> None:
        self.create()
        cases = [
            ("PUT", "/collections/x", {"vectors": {"size": 3, "distance": "Hamming"}}, "distance"),
            ("PUT", "/collections/photos/points", {"points": [{"id": "not-a-uuid", "vector": {"image": [1, 0, 0]}}]}, "UUID"),
            ("PUT", "/collections/photos/points", {"points": [{"id": 1, "vector": {"caption": [1, 0, 0]}}]}, "caption"),
            ("POST", "/collections/photos/points/query", {"query": [1, 0, 0], "using": "nope"}, "nope"),
            ("POST", "/collections/photos/points/query", {"query": {"fusion": "rrf"}}, "not supported"),
            ("POST", "/collections/photos/points/query",
             {"query": [1, 0, 0], "using": "image", "filter": {"must": [{"key": "a", "geo_radius": {}}]}}, "geo_radius"),
        ]
        for method, path, body, needle in cases:
            with self.subTest(path=path, needle=needle):
                status, reply = self.server.call(method, path, body)
                self.assertEqual(status, 400)
                self.assertIn(needle, reply["status"]["error"])

    def test_unnamed_vector_collection_round_trips_plain_lists(self) -> None:
        self.server.call("PUT", "/collections/plain", {"vectors": {"size": 2, "distance": "Dot"}})
        self.server.call("PUT", "/collections/plain/points?wait=true",
                         {"batch": {"ids": [1, 2], "vectors": [[1, 0], [0, 2]], "payloads": [{"k": "a"}, {"k": "b"}]}})
        status, body = self.server.call("POST", "/collections/plain/points/search",
                                        {"vector": [0, 1], "limit": 1, "with_vector": True, "with_payload": ["k"]})
        self.assertEqual(status, 200)
        self.assertEqual(body["result"][0]["id"], 2)
        self.assertEqual(body["result"][0]["vector"], [0, 2])
        self.assertEqual(body["result"][0]["payload"], {"k": "b"})

    def test_delete_by_filter_and_range(self) -> None:
        self.create()
        self.server.call("PUT", "/collections/photos/points", {"points": [
            {"id": i, "vector": {"image": [1, i, 0]}, "payload": {"n": i}} for i in range(1, 6)]})
        self.server.call("POST", "/collections/photos/points/delete", {"filter": {"must": [{"key": "n", "range": {"gte": 4}}]}})
        _, body = self.server.call("POST", "/collections/photos/points/scroll", {"limit": 10})
        self.assertEqual(sorted(p["id"] for p in body["result"]["points"]), [1, 2, 3])

    def test_collections_and_aliases_survive_a_restart(self) -> None:
        self.create()
        pid = str(uuid.uuid4())
        self.server.call("PUT", "/collections/photos/points", {"points": [{"id": pid, "vector": {"image": [0, 1, 0]}}]})
        self.server.call("POST", "/collections/aliases",
                         {"actions": [{"create_alias": {"collection_name": "photos", "alias_name": "current"}}]})
        self.server.close()
        self.server = ShimServer(Path(self.tmp.name))
        status, body = self.server.call("POST", "/collections/current/points", {"ids": [pid]})
        self.assertEqual(status, 200)
        self.assertEqual([p["id"] for p in body["result"]], [pid])

    def test_deleting_a_collection_drops_its_aliases(self) -> None:
        self.create()
        self.server.call("POST", "/collections/aliases",
                         {"actions": [{"create_alias": {"collection_name": "photos", "alias_name": "current"}}]})
        self.server.call("DELETE", "/collections/photos")
        _, body = self.server.call("GET", "/aliases")
        self.assertEqual(body["result"]["aliases"], [])


if __name__ == "__main__":
    unittest.main()
