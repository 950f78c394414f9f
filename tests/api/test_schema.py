"""The OpenAPI document and the interactive docs, served without a key or a CDN."""

from __future__ import annotations

import re
from typing import Any

import yaml
from django.test import Client


def _schema() -> dict[str, Any]:
    response = Client().get("/api/schema/?format=json")
    assert response.status_code == 200
    return dict(response.json())


def test_the_schema_is_openapi_3_with_every_public_path(db: Any) -> None:
    schema = _schema()

    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Notify API"
    for path in (
        "/api/v1/notifications/",
        "/api/v1/notifications/{id}/",
        "/api/v1/notifications/{id}/cancel/",
        "/api/v1/recipients/{recipient_id}/",
        "/api/v1/templates/",
    ):
        assert path in schema["paths"], path
    assert "post" in schema["paths"]["/api/v1/notifications/"]
    assert "202" in schema["paths"]["/api/v1/notifications/"]["post"]["responses"]
    assert schema["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"


def test_the_schema_is_yaml_by_default_and_json_on_request(db: Any) -> None:
    as_yaml = Client().get("/api/schema/")
    as_json = Client().get("/api/schema/", HTTP_ACCEPT="application/json")

    assert as_yaml.status_code == as_json.status_code == 200
    assert as_yaml["Content-Type"].startswith("application/vnd.oai.openapi")
    assert as_yaml.content.startswith(b"openapi: 3.")
    assert as_json["Content-Type"].startswith("application/json")
    assert yaml.safe_load(as_yaml.content)["paths"].keys() == as_json.json()["paths"].keys()


def test_the_schema_describes_each_request_body_as_that_endpoint_accepts_it(db: Any) -> None:
    # The notification's recipient (requires `id`, push tokens as strings) and the body of
    # PUT /recipients/{id}/ (no `id`, push tokens as objects) are different serializers that
    # share a class name; they must not collapse into one component.
    schema = _schema()

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
        return node

    put = schema["paths"]["/api/v1/recipients/{recipient_id}/"]["put"]
    put_body = resolve(put["requestBody"]["content"]["application/json"]["schema"])
    notification = resolve(schema["components"]["schemas"]["NotificationInputRequest"])
    nested = resolve(notification["properties"]["recipient"])

    assert "id" in nested.get("required", [])
    assert "id" not in put_body.get("required", [])
    assert "id" not in put_body["properties"]
    token = resolve(put_body["properties"]["push_tokens"]["items"])
    assert token.get("type") == "object" and "token" in token["properties"]


def test_the_docs_page_serves_its_assets_locally(db: Any) -> None:
    response = Client().get("/api/docs/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "swagger-ui" in html
    external = re.findall(r"""(?:src|href)=["'](https?:)?//[^"']+""", html)
    assert external == []
    assert "cdn." not in html and "unpkg" not in html and "jsdelivr" not in html
    scripts = re.findall(r"""<script[^>]+src=["']([^"']+)""", html)
    # The assets, and the init script from this page's own URL (no inline script for the CSP).
    assert scripts and all(s.startswith(("/static/", "/api/docs/?")) for s in scripts), scripts


def test_the_idempotency_key_says_it_is_scoped_to_the_tenant(db: Any) -> None:
    post = _schema()["paths"]["/api/v1/notifications/"]["post"]
    (header,) = [p for p in post["parameters"] if p["name"] == "Idempotency-Key"]

    assert header["in"] == "header"
    assert "Scoped to the tenant, not to the API key" in header["description"]


def test_the_schema_documents_the_batch_endpoint(db: Any) -> None:
    schema = _schema()

    post = schema["paths"]["/api/v1/notifications/batch/"]["post"]
    assert {"200", "400", "413", "429"} <= post["responses"].keys()
    components = schema["components"]["schemas"]
    item = components["BatchItemInputRequest"]
    assert {"recipient", "channels", "template", "content", "idempotency_key"} <= set(
        item["properties"]
    )
    result = components["BatchResult"]["properties"]
    assert {"index", "status", "replayed", "notification", "error"} <= set(result)
