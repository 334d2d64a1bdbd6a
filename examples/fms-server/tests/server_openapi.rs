//! The OpenAPI document (`GET /openapi.json`) against the server that serves it: path ids are
//! declared as UUIDs, every operation lists the statuses its layers can answer with, every
//! request body but the intake's is strict, and a body made of exactly the properties a schema
//! declares is never refused as malformed, while one extra key is (except by the intake, which
//! lists it in `ignored_fields`). SQLite in memory, or Postgres with `FMS_TEST_POSTGRES_URL`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod server_support;

use serde_json::{Map, Value, json};
use server_support::{ADMIN, Server, spec_body};

const METHODS: [&str; 5] = ["get", "put", "post", "patch", "delete"];
const INTAKE: &str = "/functions/v1/telegram-webhook";

/// Every operation of the document: (method, path, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push((method.to_owned(), path.clone(), op.clone()));
            }
        }
    }
    assert!(out.len() >= 25, "{} operations", out.len());
    out
}

/// A schema with its `$ref` resolved.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            let target = &doc["components"]["schemas"][name];
            assert!(target.is_object(), "unresolved {r}");
            resolve(doc, target)
        }
        None => schema,
    }
}

fn body_schema<'a>(doc: &'a Value, op: &'a Value) -> Option<&'a Value> {
    op.get("requestBody")
        .map(|b| resolve(doc, &b["content"]["application/json"]["schema"]))
}

fn has_status(op: &Value, status: u16) -> bool {
    op["responses"].get(status.to_string()).is_some()
}

#[tokio::test]
async fn the_document_declares_uuid_ids_shared_statuses_and_strict_bodies() {
    let s = Server::start().await;
    let doc = s.get("/openapi.json", None).await.body;
    for (method, path, op) in operations(&doc) {
        let at = format!("{method} {path}");
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        for p in &params {
            let name = p["name"].as_str().unwrap();
            let located = p["in"] == json!("path") || p["in"] == json!("query");
            if located && (name == "id" || name.ends_with("_id")) {
                let schema = &p["schema"];
                if name == "entry_id" {
                    // Queue rows are numbered, not UUIDs.
                    assert_eq!(schema["type"], json!("integer"), "{at} {name}");
                    assert_eq!(schema["format"], json!("int64"), "{at} {name}");
                } else {
                    assert_eq!(schema["format"], json!("uuid"), "{at} {name}: {schema}");
                }
            }
        }
        let authenticated = op["security"].as_array().is_some_and(|s| !s.is_empty());
        let takes_input = op.get("requestBody").is_some()
            || params
                .iter()
                .any(|p| p["in"] == json!("path") || p["in"] == json!("query"));
        if authenticated {
            for status in [401, 408, 500] {
                assert!(has_status(&op, status), "{at} lacks {status}");
            }
        }
        if takes_input {
            assert!(has_status(&op, 400), "{at} lacks 400");
        }
        if op.get("requestBody").is_some() {
            assert!(has_status(&op, 413), "{at} lacks 413");
        }
        for (status, response) in op["responses"].as_object().unwrap() {
            if status.starts_with('4') || status.starts_with('5') {
                let schema = &response["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(
                    schema,
                    &json!("#/components/schemas/ErrorBody"),
                    "{at} {status}"
                );
            }
        }
        if let Some(schema) = body_schema(&doc, &op) {
            let extra = &schema["additionalProperties"];
            if path == INTAKE {
                assert_ne!(extra, &json!(false), "the intake is tolerant");
                assert!(extra.is_object(), "{at}: {schema}");
            } else {
                assert_eq!(extra, &json!(false), "{at} is not strict: {schema}");
            }
        }
    }
    // The intake's answer documents the ignored keys.
    let answer = &doc["components"]["schemas"]["IntakeAnswer"];
    assert!(
        answer["properties"]["ignored_fields"].is_object(),
        "{answer}"
    );
    assert!(
        answer["required"]
            .as_array()
            .unwrap()
            .contains(&json!("ignored_fields"))
    );
    s.stop().await;
}

/// A value of `schema`: every property of the top-level object (`all`), only the required
/// ones below it; the ids of the test's tenant where a field names one.
fn example(doc: &Value, schema: &Value, name: &str, ids: &Map<String, Value>, all: bool) -> Value {
    let schema = resolve(doc, schema);
    if let Some(first) = schema["oneOf"]
        .as_array()
        .and_then(|o| o.iter().find(|s| resolve(doc, s)["type"] != json!("null")))
    {
        return example(doc, first, name, ids, false);
    }
    let types: Vec<String> = match &schema["type"] {
        Value::String(t) => vec![t.clone()],
        Value::Array(ts) => ts
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
        _ => vec![],
    };
    let kind = types
        .iter()
        .find(|t| *t != "null")
        .cloned()
        .unwrap_or_default();
    match kind.as_str() {
        "object" => {
            let mut out = Map::new();
            let required: Vec<&Value> = schema["required"]
                .as_array()
                .map(|r| r.iter().collect())
                .unwrap_or_default();
            if let Some(props) = schema["properties"].as_object() {
                for (key, prop) in props {
                    if all || required.contains(&&json!(key)) {
                        out.insert(key.clone(), example(doc, prop, key, ids, false));
                    }
                }
            }
            Value::Object(out)
        }
        "array" => json!([example(doc, &schema["items"], name, ids, false)]),
        "integer" => json!(schema["minimum"].as_i64().unwrap_or(1).max(1)),
        "boolean" => json!(true),
        "string" => {
            if let Some(id) = ids.get(name) {
                return id.clone();
            }
            match schema["format"].as_str() {
                Some("uuid") => json!(uuid::Uuid::new_v4().to_string()),
                Some("email") => json!("nina@example.com"),
                Some("uri") => json!("http://127.0.0.1:9/hook"),
                _ => json!("x"),
            }
        }
        _ => json!({}),
    }
}

#[tokio::test]
async fn every_body_the_schema_allows_is_decoded_and_one_extra_key_is_not() {
    let s = Server::start().await;
    let t = s.tenant_with_complainant(None).await;
    let ticket = s.post(INTAKE, Some(&t.key), &spec_body(&t)).await;
    let ticket_id = ticket.body["ticket_id"].as_str().unwrap().to_owned();
    let executor = s
        .user(
            &t,
            json!({"name": "Mike", "role": "executor", "skills": ["HVAC"]}),
        )
        .await;
    let rows = s
        .get(
            &format!("/api/v1/tenants/{}/webhook-queue", t.id),
            Some(ADMIN),
        )
        .await;
    let entry = rows.body["items"][0]["id"].as_i64().unwrap();
    let ids: Map<String, Value> = [
        ("tenant_id", json!(t.id)),
        ("created_by", json!(executor)),
        ("changed_by", json!(executor)),
        ("executor_id", json!(executor)),
        ("chat_id", json!("123456789")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let doc = s.get("/openapi.json", None).await.body;
    let mut checked = 0;
    for (method, path, op) in operations(&doc) {
        let Some(schema) = body_schema(&doc, &op) else {
            continue;
        };
        let url = path
            .replace("{tenant_id}", &t.id)
            .replace("{ticket_id}", &ticket_id)
            .replace("{user_id}", &executor)
            .replace("{entry_id}", &entry.to_string())
            .replace("{notification_id}", &uuid::Uuid::new_v4().to_string());
        let body = example(&doc, schema, "", &ids, true);
        let verb = method.to_uppercase();
        let send = |body: &Value| {
            s.send(
                &verb,
                &url,
                Some(ADMIN),
                Some(body.to_string().into_bytes()),
                &[],
            )
        };
        // Exactly the declared properties: whatever the handler then decides, the body was
        // decoded (no invalid_json, no missing or unknown field, no wrong type).
        let a = send(&body).await;
        let at = format!("{method} {path} {body}");
        assert!(a.status < 500, "{at}: {a:?}");
        if a.status == 400 {
            let code = a.body["error"]["code"].as_str().unwrap();
            let message = a.body["error"]["message"].as_str().unwrap();
            assert!(
                code == "invalid_field"
                    && !message.contains("unknown field")
                    && !message.contains("invalid type"),
                "a schema-valid body was refused as malformed: {at}: {a:?}"
            );
        }
        // One more key: strict bodies refuse it by name, the intake lists it.
        let mut extra = body.clone();
        extra["zz_not_a_field"] = json!(1);
        let a = send(&extra).await;
        if path == INTAKE {
            assert_ne!(
                a.body["error"]["field"],
                json!("zz_not_a_field"),
                "{at}: {a:?}"
            );
            let mut good = spec_body(&t);
            good["zz_not_a_field"] = json!(1);
            let a = s.post(INTAKE, Some(&t.key), &good).await;
            assert_eq!(a.body["ignored_fields"], json!(["zz_not_a_field"]), "{a:?}");
        } else {
            a.assert_error(400, "invalid_field", Some("zz_not_a_field"));
        }
        checked += 1;
    }
    assert!(checked >= 13, "{checked} bodies");
    s.stop().await;
}
