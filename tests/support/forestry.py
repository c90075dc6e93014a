"""A memorial forest with a plot, set up through the admin API as the operator would."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from services.pool.pool_audit import run_audit


def memorial_forest(
    client: FlaskClient,
    admin: dict[str, str],
    *,
    code: str = "GD-MEMORIAL",
    owner: str = "誓节镇村集体",
    plot: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An owner, a forest and one plot (10 trees of 侧柏/油松 at ¥30 a tree unless `plot` says otherwise)."""
    made = client.post(
        "/api/v1/admin/owners", json={"name": owner, "kind": "village_collective"}, headers=admin
    )
    assert made.status_code == 201, made.json
    forest = client.post(
        "/api/v1/admin/forests",
        json={
            "code": code,
            "name": "广德碳汇林纪念基地",
            "place": "安徽省广德市",
            "owner_id": made.json["id"],
        },
        headers=admin,
    )
    assert forest.status_code == 201, forest.json
    body = {
        "code": "A-01",
        "area_m2": 6_670,
        "species": ["侧柏", "油松"],
        "tree_capacity": 10,
        "donation_fen_per_tree": 3_000,
        **(plot or {}),
    }
    added = client.post(f"/api/v1/admin/forests/{forest.json['id']}/plots", json=body, headers=admin)
    assert added.status_code == 201, added.json
    return {"owner_id": made.json["id"], "forest": forest.json, "plot": added.json}


def add_plot(client: FlaskClient, admin: dict[str, str], forest_id: int, **body: Any) -> dict[str, Any]:
    plot = {
        "code": "B-01",
        "area_m2": 1_000,
        "species": ["侧柏"],
        "tree_capacity": 5,
        "donation_fen_per_tree": 2_000,
        **body,
    }
    added = client.post(f"/api/v1/admin/forests/{forest_id}/plots", json=plot, headers=admin)
    assert added.status_code == 201, added.json
    return added.json


def adopt(client: FlaskClient, headers: dict[str, str], key: str | None = None, **body: Any):
    extra = {"Idempotency-Key": key} if key else {}
    return client.post("/api/v1/adoptions", json=body, headers={**headers, **extra})


def pay(client: FlaskClient, headers: dict[str, str], out_trade_no: str) -> dict[str, Any]:
    paid = client.post(f"/api/v1/sandbox/orders/{out_trade_no}/pay", headers=headers)
    assert paid.status_code == 200, paid.json
    return paid.json


def audit_violations() -> list[str]:
    """What the pool audit (every registered check) finds: empty when the books balance."""
    return [str(violation) for violation in run_audit()]
