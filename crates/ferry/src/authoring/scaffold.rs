//! `ferry plugin new`: a plugin project from the embedded templates (crates/ferry/templates/),
//! with the contract exported into its `wit/`, that builds with one command and has a passing
//! test. `templates/<lang>/` holds the files every project of that language gets and
//! `templates/<lang>/<world>/` the world's own; `{{name}}`-style placeholders are filled in,
//! and a world's `README.part.md` becomes the `{{world_readme}}` section of the README.

use std::path::PathBuf;

use super::embedded::TEMPLATE_FILES;
use super::{AuthoringError, contract, write};

/// componentize-py's version: the one xtask builds the Python example with.
pub const COMPONENTIZE_PY: &str = "0.25.1";

/// Where a Rust project's `ferry-pdk` comes from outside this repository: Ferry's git
/// repository (cargo finds `plugins/pdk` in it), set at build time with `FERRY_PDK_GIT`.
pub const PDK_GIT: &str = match option_env!("FERRY_PDK_GIT") {
    Some(url) => url,
    None => "https://github.com/ferry-q2c/ferry",
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum World {
    Transform,
    ErpConnector,
    QuotingConnector,
}

impl World {
    pub fn as_str(self) -> &'static str {
        match self {
            World::Transform => "transform",
            World::ErpConnector => "erp-connector",
            World::QuotingConnector => "quoting-connector",
        }
    }

    /// The contract package (and folder under wit/) the world belongs to, which is also the
    /// role name `ferry plugin install --role` takes.
    pub fn package(self) -> &'static str {
        match self {
            World::Transform => "transform",
            World::ErpConnector => "erp",
            World::QuotingConnector => "quoting",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    Rust,
    Python,
}

impl Lang {
    fn as_str(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
        }
    }
}

/// Where a Rust project's `ferry-pdk` dependency points.
#[derive(Debug, Clone)]
pub enum PdkSource {
    /// Ferry's repository (the default, for a project outside it).
    Git { url: String },
    /// A local checkout's `plugins/pdk` (offline builds, Ferry's own tests).
    Path(PathBuf),
}

impl PdkSource {
    fn dependency(&self) -> String {
        match self {
            PdkSource::Git { url } => format!("{{ git = {url:?} }}"),
            PdkSource::Path(p) => format!("{{ path = {:?} }}", p.display().to_string()),
        }
    }

    fn note(&self) -> String {
        match self {
            PdkSource::Git { url } => format!(
                "git: `{url}`; to build offline or against a checkout, set `ferry-pdk = {{ path = \"/path/to/ferry/plugins/pdk\" }}` in Cargo.toml, or make the project with `ferry plugin new --pdk-path`"
            ),
            PdkSource::Path(p) => format!(
                "the checkout at `{}`; outside it, use `ferry-pdk = {{ git = \"{PDK_GIT}\" }}`",
                p.display()
            ),
        }
    }
}

/// What `ferry plugin new` makes.
#[derive(Debug, Clone)]
pub struct NewProject {
    pub name: String,
    pub world: World,
    pub lang: Lang,
    pub dir: PathBuf,
    pub pdk: PdkSource,
}

/// A plugin name: lower-case letters, digits and '-', starting with a letter (it becomes a
/// crate name, a file name and a component name).
pub fn check_name(name: &str) -> Result<(), AuthoringError> {
    let ok = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(AuthoringError::Input(format!(
            "'{name}' is not a plugin name: use lower-case letters, digits and '-', starting with a letter (e.g. acme-pricing)"
        )))
    }
}

/// Writes the project; refuses a `dir` that exists and is not empty. Returns the files
/// written, relative to `dir`.
pub fn create(project: &NewProject) -> Result<Vec<PathBuf>, AuthoringError> {
    check_name(&project.name)?;
    let dir = &project.dir;
    if std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(AuthoringError::Input(format!(
            "{} already exists and is not empty: choose another --dir",
            dir.display()
        )));
    }
    let lang = format!("{}/", project.lang.as_str());
    let world = format!("{lang}{}/", project.world.as_str());
    let is_world_dir = |rel: &str| {
        [
            World::Transform,
            World::ErpConnector,
            World::QuotingConnector,
        ]
        .iter()
        .any(|w| rel.starts_with(&format!("{lang}{}/", w.as_str())))
    };
    let world_readme = TEMPLATE_FILES
        .iter()
        .find(|(rel, _)| *rel == format!("{world}README.part.md"))
        .map(|(_, bytes)| String::from_utf8_lossy(bytes).into_owned())
        .unwrap_or_default();
    let vars = variables(project, &world_readme)?;
    let mut written = Vec::new();
    for (rel, bytes) in TEMPLATE_FILES {
        let out = if let Some(own) = rel.strip_prefix(&world) {
            own
        } else if let Some(common) = rel.strip_prefix(&lang).filter(|_| !is_world_dir(rel)) {
            common
        } else {
            continue;
        };
        if out == "README.part.md" {
            continue;
        }
        let text = std::str::from_utf8(bytes).map_err(|_| {
            AuthoringError::Input(format!("template {rel} is not UTF-8 (a build fault)"))
        })?;
        write(&dir.join(out), fill(text, &vars).as_bytes())?;
        written.push(PathBuf::from(out));
    }
    for path in contract::export(&dir.join("wit"))? {
        if let Ok(rel) = path.strip_prefix(dir) {
            written.push(rel.to_path_buf());
        }
    }
    Ok(written)
}

fn variables(
    project: &NewProject,
    world_readme: &str,
) -> Result<Vec<(&'static str, String)>, AuthoringError> {
    let version = |package: &str| {
        contract::package_version(package).ok_or_else(|| {
            AuthoringError::Input(format!(
                "the embedded contract has no ferry:{package} package (a build fault)"
            ))
        })
    };
    let package = project.world.package();
    let sync = project.world != World::Transform;
    let mut vars = vec![
        ("name", project.name.clone()),
        ("crate", project.name.replace('-', "_")),
        ("world", project.world.as_str().to_string()),
        ("package", package.to_string()),
        ("role", package.to_string()),
        ("types_version", version("types")?),
        ("host_version", version("host")?),
        ("pdk", project.pdk.dependency()),
        ("pdk_note", project.pdk.note()),
        ("ferry_version", env!("CARGO_PKG_VERSION").to_string()),
        ("componentize_py", COMPONENTIZE_PY.to_string()),
        // Connectors export the `@unstable(feature = sync)` functions too (the host binds them).
        (
            "cpy_features",
            if sync { " --features sync" } else { "" }.to_string(),
        ),
    ];
    // Placeholders in the world's README section are filled like the rest.
    let readme = fill(world_readme, &vars);
    vars.push(("world_readme", readme));
    Ok(vars)
}

fn fill(text: &str, vars: &[(&str, String)]) -> String {
    let mut out = text.to_string();
    for (key, value) in vars {
        out = out.replace(&format!("{{{{{key}}}}}"), value);
    }
    out
}

/// The commands that build and test a project `create` made, for printing.
pub fn next_steps(project: &NewProject) -> Vec<String> {
    let dir = project.dir.display();
    let crate_name = project.name.replace('-', "_");
    let package = project.world.package();
    let features = if project.world == World::Transform {
        ""
    } else {
        " --features sync"
    };
    let mut steps = vec![format!("cd {dir}")];
    let wasm = match project.lang {
        Lang::Rust => {
            steps.push("cargo build --release --target wasm32-wasip2".into());
            steps.push("cargo test".into());
            format!("target/wasm32-wasip2/release/{crate_name}.wasm")
        }
        Lang::Python => {
            steps.push(format!(
                "componentize-py -d wit/{package} -w plugin{features} componentize app -o {}.wasm",
                project.name
            ));
            steps.push(format!(
                "componentize-py -d wit/{package} -w plugin{features} bindings bindings && python -m unittest"
            ));
            format!("{}.wasm", project.name)
        }
    };
    if project.world == World::Transform {
        steps.push(format!("ferry plugin test {wasm} --fixtures fixtures"));
    }
    steps.push(format!(
        "ferry --config sb/ferry.toml --data-dir sb/data plugin install {wasm} --tenant demo --role {package} --activate   # with `ferry sandbox --dir sb` running"
    ));
    steps
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn project(dir: &Path, world: World, lang: Lang) -> NewProject {
        NewProject {
            name: "acme-pricing".into(),
            world,
            lang,
            dir: dir.to_path_buf(),
            pdk: PdkSource::Git {
                url: PDK_GIT.into(),
            },
        }
    }

    #[test]
    fn every_placeholder_is_filled() {
        for world in [
            World::Transform,
            World::ErpConnector,
            World::QuotingConnector,
        ] {
            for lang in [Lang::Rust, Lang::Python] {
                let dir = tempfile::tempdir().unwrap();
                let files = create(&project(dir.path(), world, lang)).unwrap();
                for rel in files.iter().filter(|r| !r.starts_with("wit")) {
                    let text = std::fs::read_to_string(dir.path().join(rel)).unwrap();
                    assert!(
                        !text.contains("{{"),
                        "{world:?} {lang:?} {}: {text}",
                        rel.display()
                    );
                }
                assert!(files.iter().any(|f| f.ends_with("README.md")));
                assert!(!files.iter().any(|f| f.ends_with("README.part.md")));
                assert_eq!(
                    files.iter().any(|f| f.starts_with("fixtures")),
                    world == World::Transform,
                    "{world:?} {lang:?}"
                );
            }
        }
    }

    #[test]
    fn a_bad_name_or_a_full_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = project(dir.path(), World::Transform, Lang::Rust);
        p.name = "Acme Pricing".into();
        assert!(
            create(&p)
                .unwrap_err()
                .to_string()
                .contains("not a plugin name")
        );
        std::fs::write(dir.path().join("keep.txt"), "mine").unwrap();
        let err = create(&project(dir.path(), World::Transform, Lang::Rust)).unwrap_err();
        assert!(err.to_string().contains("not empty"), "{err}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("keep.txt")).unwrap(),
            "mine"
        );
    }
}
