"""A registered workflow's parameters keep their JSON Schemas through the server:
stored with the manifest and served by the manifests route, which is where Studio's
Run… form reads them, on both storages."""

from __future__ import annotations

from tests.support.cluster import REPOS, Cluster
from tests.unit.test_manifest_schemas import EXPECTED


def test_registered_parameters_are_served_with_their_schemas(cluster: Cluster) -> None:
    registered = cluster.cli("register", str(REPOS / "annotated.py"))
    assert registered.returncode == 0, registered.stderr
    manifests = cluster.api("GET", "/api/projects/test/environments/production/manifests")
    assert manifests.status_code == 200, manifests.text
    [manifest] = [m for m in manifests.json() if m["repository"] == "annotated"]
    [workflow] = manifest["targets"]
    served = {p["name"]: p.get("schema") for p in workflow["parameters"]}
    assert served == EXPECTED
    # A model's fields in the order they are declared: the order the form shows.
    assert list(served["customer"]["properties"]) == ["name", "address"]
    # No schema is left out, not sent as null.
    assert "schema" not in workflow["parameters"][-1]
