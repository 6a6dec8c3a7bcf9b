//! The dependency rule, checked on the source: the CLI is a front-end on the engine, and the
//! engine's API names no type of the store or the network.
//!
//! - `tapin-cli` depends on `tapin-app` and on no other tapin crate (`cargo metadata`), and its
//!   source names neither `tapin_store` nor `tapin_net`;
//! - only `tapin-net` depends on iroh;
//! - nothing public in `tapin-app` (a `pub use`, or the signature of a `pub` function, struct
//!   field, enum, type alias, constant or trait) names a path into `tapin_store` or `tapin_net`,
//!   or a name the file imports from them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use quote::ToTokens;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_owned()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The normal dependencies of `package` whose name starts with `prefix`, by `cargo metadata`.
fn dependencies(package: &str, prefix: &str) -> BTreeSet<String> {
    let output = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(workspace())
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&output.stdout).expect("metadata JSON");
    let pkg = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["name"] == package)
        .unwrap_or_else(|| panic!("{package} is a workspace member"));
    pkg["dependencies"]
        .as_array()
        .expect("dependencies")
        .iter()
        .filter(|d| d["kind"].is_null())
        .filter_map(|d| d["name"].as_str())
        .filter(|name| name.starts_with(prefix))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_cli_depends_on_the_engine_only() {
    assert_eq!(
        dependencies("tapin-cli", "tapin-"),
        BTreeSet::from(["tapin-app".to_owned()]),
        "cli/Cargo.toml may depend on tapin-app and no other tapin crate"
    );
    let mut files = Vec::new();
    rust_files(&workspace().join("cli/src"), &mut files);
    assert!(!files.is_empty());
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable");
        for layer in ["tapin_store", "tapin_net", "tapin_core"] {
            assert!(
                !text.contains(layer),
                "{} names {layer}; the CLI reaches everything through tapin_app",
                file.display()
            );
        }
    }
}

#[test]
fn only_the_network_crate_depends_on_iroh() {
    for package in ["tapin-core", "tapin-store", "tapin-app", "tapin-cli"] {
        assert_eq!(
            dependencies(package, "iroh"),
            BTreeSet::new(),
            "{package} may reach the network only through tapin-net"
        );
    }
    assert!(dependencies("tapin-net", "iroh").contains("iroh"));
}

/// Whether `tokens` names a path into the store or the network, or one of `imported`.
fn names_a_lower_layer(tokens: &str, imported: &BTreeSet<String>) -> Option<String> {
    let words: Vec<&str> = tokens
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    words
        .iter()
        .find(|w| **w == "tapin_store" || **w == "tapin_net" || imported.contains(**w))
        .map(|w| (*w).to_owned())
}

/// The names a file imports from the store or the network (`use tapin_store::{Store, Txn}`).
fn imported_from_lower_layers(file: &syn::File) -> BTreeSet<String> {
    fn walk(tree: &syn::UseTree, under_lower: bool, out: &mut BTreeSet<String>) {
        match tree {
            syn::UseTree::Path(p) => {
                let lower = under_lower || p.ident == "tapin_store" || p.ident == "tapin_net";
                walk(&p.tree, lower, out);
            }
            syn::UseTree::Name(n) if under_lower => {
                out.insert(n.ident.to_string());
            }
            syn::UseTree::Rename(r) if under_lower => {
                out.insert(r.rename.to_string());
            }
            syn::UseTree::Group(g) => g.items.iter().for_each(|t| walk(t, under_lower, out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    for item in &file.items {
        if let syn::Item::Use(u) = item {
            walk(&u.tree, false, &mut out);
        }
    }
    out.remove("self");
    out
}

fn is_pub(vis: &syn::Visibility) -> bool {
    matches!(vis, syn::Visibility::Public(_))
}

/// The public surface of `items`, as (what, tokens) pairs.
fn public_surface(items: &[syn::Item], out: &mut Vec<(String, String)>) {
    for item in items {
        match item {
            syn::Item::Use(u) if is_pub(&u.vis) => {
                out.push(("pub use".into(), u.to_token_stream().to_string()));
            }
            syn::Item::Fn(f) if is_pub(&f.vis) => {
                out.push((f.sig.ident.to_string(), f.sig.to_token_stream().to_string()));
            }
            syn::Item::Struct(s) if is_pub(&s.vis) => {
                for field in &s.fields {
                    if is_pub(&field.vis) {
                        out.push((s.ident.to_string(), field.ty.to_token_stream().to_string()));
                    }
                }
                out.push((
                    s.ident.to_string(),
                    s.generics.to_token_stream().to_string(),
                ));
            }
            syn::Item::Enum(e) if is_pub(&e.vis) => {
                // Error causes are boxed (`Cause`); every variant's fields are public.
                out.push((
                    e.ident.to_string(),
                    e.variants.to_token_stream().to_string(),
                ));
            }
            syn::Item::Type(t) if is_pub(&t.vis) => {
                out.push((t.ident.to_string(), t.ty.to_token_stream().to_string()));
            }
            syn::Item::Const(c) if is_pub(&c.vis) => {
                out.push((c.ident.to_string(), c.ty.to_token_stream().to_string()));
            }
            syn::Item::Trait(t) if is_pub(&t.vis) => {
                out.push((t.ident.to_string(), t.to_token_stream().to_string()));
            }
            syn::Item::Impl(i) if i.trait_.is_none() => {
                for inner in &i.items {
                    if let syn::ImplItem::Fn(f) = inner
                        && is_pub(&f.vis)
                    {
                        out.push((f.sig.ident.to_string(), f.sig.to_token_stream().to_string()));
                    }
                }
            }
            syn::Item::Mod(m) if is_pub(&m.vis) => {
                if let Some((_, items)) = &m.content {
                    public_surface(items, out);
                }
            }
            _ => {}
        }
    }
}

#[test]
fn the_engine_api_names_no_store_or_network_type() {
    let mut files = Vec::new();
    rust_files(&workspace().join("crates/app/src"), &mut files);
    assert!(files.len() > 5, "the engine's sources are found");
    let mut checked = 0;
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable");
        let file = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let imported = imported_from_lower_layers(&file);
        let mut surface = Vec::new();
        public_surface(&file.items, &mut surface);
        for (what, tokens) in &surface {
            checked += 1;
            if let Some(name) = names_a_lower_layer(tokens, &imported) {
                panic!(
                    "{}: the public {what} names {name}, from the store or the network; \
                     tapin-app's API must not (wrap it, or box it as a `Cause`)",
                    path.display()
                );
            }
        }
    }
    assert!(checked > 50, "the public API was found ({checked} items)");
}

/// The checker itself: a public signature with a store type is caught, a private one is not.
#[test]
fn the_checker_catches_a_store_type_in_a_public_signature() {
    let file: syn::File = syn::parse_str(
        "use tapin_store::{Store, Txn};
         pub struct Open { pub store: Store }
         pub fn txn(t: &mut Txn<'_>) {}
         fn private(s: Store) {}
         pub struct Fine { pub name: String, store: Store }",
    )
    .expect("parses");
    let imported = imported_from_lower_layers(&file);
    let mut surface = Vec::new();
    public_surface(&file.items, &mut surface);
    let caught: Vec<&String> = surface
        .iter()
        .filter(|(_, tokens)| names_a_lower_layer(tokens, &imported).is_some())
        .map(|(what, _)| what)
        .collect();
    assert_eq!(caught, ["Open", "txn"]);
}
