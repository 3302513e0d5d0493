//! Rebuilds when a migration changes: `sqlx::migrate!` embeds `migrations/` at compile time,
//! and without this an incremental build would keep serving the old set.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
