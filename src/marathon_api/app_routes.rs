//! The `/v2/apps` routes and the Marathon operations they serve (the route table the router
//! and the OpenAPI document are both built from). `{appId}` holds slashes: one wildcard route
//! serves every path below `/v2/apps/`, and `apps::AppPath` tells them apart.

use axum::http::Method;
use axum::routing::get;

use super::apps::{
    create, delete_path, get_path, list, patch_many, patch_path, post_path, put_path, update_many,
};
use super::openapi::{Route, op};

const CREATED: &[(u16, &str)] = &[
    (201, "The app with Marathon's defaults, counts and deployments"),
    (400, "The body is not JSON"),
    (409, "The id, or the resource name it derives, is taken"),
    (413, "The body is too large"),
    (422, "The app is not valid"),
    (503, "The Kubernetes API is unavailable"),
];
const CHANGED: &[(u16, &str)] = &[
    (200, "Deployment result {deploymentId, version}"),
    (400, "The body is not JSON"),
    (404, "App does not exist (or, for a rollback, the version)"),
    (409, "Locked by a deployment (override with force=true)"),
    (422, "The app is not valid"),
    (503, "The Kubernetes API is unavailable"),
];
/// `PUT /v2/apps/{appId}` creates the app when it does not exist, as Marathon does.
const PUT_APP: &[(u16, &str)] = &[
    (200, "Deployment result {deploymentId, version}"),
    (201, "The app did not exist and was created"),
    (400, "The body is not JSON"),
    (404, "For a rollback: the version does not exist"),
    (409, "Locked by a deployment (override with force=true), or the name is taken"),
    (422, "The app is not valid"),
    (503, "The Kubernetes API is unavailable"),
];
const ONE_APP: &[(u16, &str)] = &[(200, "Found"), (404, "App does not exist")];
const KILLED: &[(u16, &str)] = &[
    (200, "The killed tasks, or a deployment result with scale=true"),
    (400, "scale and wipe together"),
    (404, "App or task does not exist"),
];

fn collection() -> Route {
    let route = Route::new("/v2/apps", get(list).post(create).put(update_many).patch(patch_many));
    route
        .serves(
            op(
                Method::GET,
                "/v2/apps",
                "List apps",
                &[(200, "{apps}"), (422, "Bad label selector")],
            )
            .query(&["cmd", "id", "label", "embed"]),
        )
        .serves(op(Method::POST, "/v2/apps", "Create an app", CREATED).query(&["force"]).app_body())
        .serves(
            op(Method::PUT, "/v2/apps", "Update or create several apps", CHANGED)
                .query(&["force", "partialUpdate"]),
        )
        .serves(op(Method::PATCH, "/v2/apps", "Patch several apps", CHANGED).query(&["force"]))
}

fn below() -> Route {
    let handler = get(get_path).put(put_path).patch(patch_path).delete(delete_path).post(post_path);
    let app = "/v2/apps/{appId}";
    Route::new("/v2/apps/{*path}", handler)
        .serves(op(Method::GET, app, "One app, with its tasks", ONE_APP).query(&["embed"]))
        .serves(
            op(Method::GET, "/v2/apps/{groupId}/*", "Every app below a group", ONE_APP)
                .query(&["embed"]),
        )
        .serves(
            op(Method::PUT, app, "Update (or create) an app; {\"version\"} rolls back", PUT_APP)
                .query(&["force", "partialUpdate"])
                .app_body(),
        )
        .serves(op(Method::PATCH, app, "Patch an app", CHANGED).query(&["force"]).app_body())
        .serves(op(Method::DELETE, app, "Delete an app", CHANGED).query(&["force"]))
        .serves(
            op(Method::POST, "/v2/apps/{appId}/restart", "Rolling restart", CHANGED)
                .query(&["force"]),
        )
        .serves(op(Method::GET, "/v2/apps/{appId}/tasks", "The app's tasks", ONE_APP))
        .serves(
            op(Method::DELETE, "/v2/apps/{appId}/tasks", "Kill the app's tasks", KILLED)
                .query(&["host", "scale", "wipe", "force"]),
        )
        .serves(
            op(Method::DELETE, "/v2/apps/{appId}/tasks/{taskId}", "Kill one task", KILLED)
                .query(&["scale", "wipe", "force"]),
        )
        .serves(op(Method::GET, "/v2/apps/{appId}/versions", "The app's versions", ONE_APP))
        .serves(op(
            Method::GET,
            "/v2/apps/{appId}/versions/{version}",
            "The app's definition at a version",
            &[(200, "The definition"), (404, "App does not exist in that version")],
        ))
}

pub fn routes() -> Vec<Route> {
    vec![collection(), below()]
}
