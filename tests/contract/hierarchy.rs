//! README, "Emulated routes", customer hierarchies: a parent and its children, linked by
//! `hierarchy` on create and edit, one level deep, checked against the account, shown on both
//! sides, and unlinked by a deletion's cascade.

use serde_json::{json, Value};

use crate::common::{id_of, TestApp};
use crate::on_both_stores;

async fn customer(app: &TestApp, body: Value) -> Value {
    let mut full = json!({"name": "Linked", "email": "linked@example.com"});
    for (key, value) in body.as_object().unwrap() {
        full[key] = value.clone();
    }
    app.post("/customers", full).await.created()
}

async fn hierarchy(app: &TestApp, id: &str) -> Value {
    let read = app.get(&format!("/customers/{id}")).await;
    assert_eq!(read.status, 200, "{}", read.text());
    read.json()["hierarchy"].clone()
}

fn minified(id: &str, external: Option<&str>) -> Value {
    json!({"id": id, "external_customer_id": external})
}

on_both_stores!(a_parent_and_its_children_show_in_each_others_hierarchy);
async fn a_parent_and_its_children_show_in_each_others_hierarchy(app: &TestApp) {
    let parent = id_of(&customer(app, json!({"external_customer_id": "parent-ext"})).await);
    let first = customer(app, json!({"hierarchy": {"parent_customer_id": parent}})).await;
    let first = id_of(&first);
    let second = id_of(&customer(app, json!({"external_customer_id": "second-ext"})).await);
    let edited = app
        .put(
            &format!("/customers/{parent}"),
            json!({"hierarchy": {"child_customer_ids": [second, second]}}),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text());
    let expected_parent = json!({
        "parent": null,
        "children": [minified(&first, None), minified(&second, Some("second-ext"))]
    });
    assert_eq!(edited.json()["hierarchy"], expected_parent);
    assert_eq!(hierarchy(app, &parent).await, expected_parent);
    for child in [&first, &second] {
        assert_eq!(
            hierarchy(app, child).await,
            json!({"parent": minified(&parent, Some("parent-ext")), "children": []})
        );
    }
    // The edited parent's event carries the change.
    let events = app
        .get("/_mock/webhooks/events?type=customer.edited")
        .await
        .data();
    assert_eq!(
        events[0]["properties"]["previous_attributes"]["hierarchy"]["children"],
        json!([minified(&first, None)])
    );
}

on_both_stores!(a_hierarchy_that_breaks_orbs_rules_is_refused_naming_the_field_and_changes_nothing);
async fn a_hierarchy_that_breaks_orbs_rules_is_refused_naming_the_field_and_changes_nothing(
    app: &TestApp,
) {
    let parent = id_of(&customer(app, json!({})).await);
    let child = id_of(&customer(app, json!({"hierarchy": {"parent_customer_id": parent}})).await);
    let loner = id_of(&customer(app, json!({})).await);
    let elsewhere = app
        .client_as(&format!("{}-other", app.token))
        .customer()
        .await;
    let before: Vec<Value> = {
        let mut all = Vec::new();
        for id in [&parent, &child, &loner] {
            all.push(hierarchy(app, id).await);
        }
        all
    };
    let refusals = [
        // Itself.
        (
            &loner,
            json!({"parent_customer_id": loner}),
            "hierarchy.parent_customer_id",
        ),
        (
            &loner,
            json!({"child_customer_ids": [loner]}),
            "hierarchy.child_customer_ids",
        ),
        // Unknown, or in another account.
        (
            &loner,
            json!({"parent_customer_id": "nope"}),
            "hierarchy.parent_customer_id",
        ),
        (
            &loner,
            json!({"parent_customer_id": elsewhere}),
            "hierarchy.parent_customer_id",
        ),
        (
            &loner,
            json!({"child_customer_ids": [elsewhere]}),
            "hierarchy.child_customer_ids",
        ),
        // A cycle: the parent under its own child, or the child's parent under it.
        (
            &parent,
            json!({"parent_customer_id": child}),
            "hierarchy.parent_customer_id",
        ),
        (
            &child,
            json!({"child_customer_ids": [parent]}),
            "hierarchy.child_customer_ids",
        ),
        // Two levels: a child as a parent, a child already in a hierarchy.
        (
            &loner,
            json!({"parent_customer_id": child}),
            "hierarchy.parent_customer_id",
        ),
        (
            &loner,
            json!({"child_customer_ids": [child]}),
            "hierarchy.child_customer_ids",
        ),
        // Malformed.
        (
            &loner,
            json!({"parent_customer_id": ""}),
            "hierarchy.parent_customer_id",
        ),
        (&loner, json!({"children": [parent]}), "hierarchy.children"),
    ];
    for (target, hierarchy_body, field) in refusals {
        let refused = app
            .put(
                &format!("/customers/{target}"),
                json!({"hierarchy": hierarchy_body, "name": "Changed"}),
            )
            .await;
        refused.assert_validation(&[field]);
    }
    let created = app
        .post(
            "/customers",
            json!({"name": "N", "email": "n@example.com",
                   "hierarchy": {"child_customer_ids": [child]}}),
        )
        .await;
    created.assert_validation(&["hierarchy.child_customer_ids"]);
    for (id, was) in [&parent, &child, &loner].into_iter().zip(before) {
        assert_eq!(hierarchy(app, id).await, was, "{id} unchanged");
        let read = app.get(&format!("/customers/{id}")).await.json();
        assert_eq!(read["name"], "Linked", "nothing else changed either");
    }
    assert_eq!(app.get("/customers").await.data().len(), 3);
}

on_both_stores!(a_child_moves_to_another_parent_or_leaves_its_parent_on_both_sides);
async fn a_child_moves_to_another_parent_or_leaves_its_parent_on_both_sides(app: &TestApp) {
    let first = id_of(&customer(app, json!({})).await);
    let second = id_of(&customer(app, json!({})).await);
    let child = id_of(&customer(app, json!({"hierarchy": {"parent_customer_id": first}})).await);
    let moved = app
        .put(
            &format!("/customers/{child}"),
            json!({"hierarchy": {"parent_customer_id": second}}),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text());
    assert_eq!(hierarchy(app, &first).await["children"], json!([]));
    assert_eq!(
        hierarchy(app, &second).await["children"],
        json!([minified(&child, None)])
    );
    assert_eq!(hierarchy(app, &child).await["parent"]["id"], json!(second));
    // `null` leaves the parent; `"hierarchy": null` changes nothing.
    let left = app
        .put(
            &format!("/customers/{child}"),
            json!({"hierarchy": {"parent_customer_id": null}}),
        )
        .await;
    assert_eq!(
        left.json()["hierarchy"],
        json!({"parent": null, "children": []})
    );
    assert_eq!(hierarchy(app, &second).await["children"], json!([]));
    let untouched = app
        .put(&format!("/customers/{child}"), json!({"hierarchy": null}))
        .await;
    assert_eq!(untouched.status, 200);
    // Setting a linked customer's external id shows on the other side.
    app.put(
        &format!("/customers/{child}"),
        json!({"hierarchy": {"parent_customer_id": first}}),
    )
    .await;
    app.put(
        &format!("/customers/{child}"),
        json!({"external_customer_id": "child-ext"}),
    )
    .await;
    assert_eq!(
        hierarchy(app, &first).await["children"],
        json!([minified(&child, Some("child-ext"))])
    );
}

on_both_stores!(a_deleted_customer_leaves_its_hierarchy_when_its_cascade_runs);
async fn a_deleted_customer_leaves_its_hierarchy_when_its_cascade_runs(app: &TestApp) {
    let parent = id_of(&customer(app, json!({})).await);
    let kept = id_of(&customer(app, json!({"hierarchy": {"parent_customer_id": parent}})).await);
    let gone = id_of(&customer(app, json!({"hierarchy": {"parent_customer_id": parent}})).await);
    app.delete_customer(&gone).await;
    // While it is being deleted, it stays linked.
    assert_eq!(
        hierarchy(app, &parent).await["children"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    app.finish_deletions().await;
    assert_eq!(
        hierarchy(app, &parent).await["children"],
        json!([minified(&kept, None)])
    );
    // A deleted parent leaves its children without one.
    app.delete_customer(&parent).await;
    app.finish_deletions().await;
    assert_eq!(
        hierarchy(app, &kept).await,
        json!({"parent": null, "children": []})
    );
    // A customer being deleted cannot be linked to.
    let other = id_of(&customer(app, json!({})).await);
    app.delete_customer(&other).await;
    app.put(
        &format!("/customers/{kept}"),
        json!({"hierarchy": {"parent_customer_id": other}}),
    )
    .await
    .assert_validation(&["hierarchy.parent_customer_id"]);
}
