//! For plugin authors: `ferry wit export`, `ferry plugin new`, `ferry plugin test` (arguments
//! and printing over [`crate::authoring`]).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};

use super::{Cli, exit, out};
use crate::authoring::contract;
use crate::authoring::fixtures::{self, TestRun};
use crate::authoring::scaffold::{self, Lang, NewProject, PdkSource, World};

#[derive(Debug, Subcommand)]
pub enum WitCommand {
    /// Write the contract this binary serves (every package under wit/) into DIR, for a plugin
    /// project to build against.
    Export { dir: PathBuf },
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The plugin's name: lower-case letters, digits and '-' (e.g. acme-pricing).
    #[arg(value_parser = plugin_name)]
    pub name: String,
    #[arg(long, value_enum)]
    pub world: World,
    #[arg(long, value_enum)]
    pub lang: Lang,
    /// Where to write the project (default: ./NAME); it must not exist or be empty.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Rust: take ferry-pdk from this checkout's plugins/pdk instead of Ferry's git repository
    /// (offline builds).
    #[arg(long, value_name = "PATH")]
    pub pdk_path: Option<PathBuf>,
    /// Rust: take ferry-pdk from this git repository.
    #[arg(long, value_name = "URL", default_value = scaffold::PDK_GIT, conflicts_with = "pdk_path")]
    pub pdk_git: String,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// The component (.wasm), or a plugin project's folder (its built component).
    pub plugin: PathBuf,
    /// The fixtures folder: NAME.input.json and NAME.expected.json pairs (default: the
    /// project's fixtures/).
    #[arg(long)]
    pub fixtures: Option<PathBuf>,
    /// The kind for inputs that are plain documents (a map-document parameter file names its own).
    #[arg(long, default_value = "quote-to-order")]
    pub kind: String,
    /// A plugin setting, KEY=VALUE (repeatable), over each case's own.
    #[arg(long = "setting", value_name = "KEY=VALUE")]
    pub settings: Vec<String>,
}

fn plugin_name(name: &str) -> Result<String, String> {
    scaffold::check_name(name)
        .map(|()| name.to_string())
        .map_err(|e| e.to_string())
}

pub fn wit(cmd: &WitCommand) -> anyhow::Result<i32> {
    match cmd {
        WitCommand::Export { dir } => {
            let written = contract::export(dir)?;
            out!(
                "wrote {} contract files to {}",
                written.len(),
                dir.display()
            )?;
        }
    }
    Ok(exit::OK)
}

pub fn new(args: &NewArgs) -> anyhow::Result<i32> {
    let pdk = match &args.pdk_path {
        Some(path) => PdkSource::Path(
            std::path::absolute(path).with_context(|| format!("--pdk-path {}", path.display()))?,
        ),
        None => PdkSource::Git {
            url: args.pdk_git.clone(),
        },
    };
    let project = NewProject {
        name: args.name.clone(),
        world: args.world,
        lang: args.lang,
        dir: args
            .dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(&args.name)),
        pdk,
    };
    let files = scaffold::create(&project)?;
    out!(
        "created {} ({} {} plugin, {} files) in {}",
        project.name,
        project.world.as_str(),
        match project.lang {
            Lang::Rust => "Rust",
            Lang::Python => "Python",
        },
        files.len(),
        project.dir.display()
    )?;
    out!("next:")?;
    for step in scaffold::next_steps(&project) {
        out!("  {step}")?;
    }
    Ok(exit::OK)
}

pub async fn test(cli: &Cli, args: &TestArgs) -> anyhow::Result<i32> {
    let component = fixtures::component_of(&args.plugin)?;
    let fixtures = match &args.fixtures {
        Some(f) => f.clone(),
        None if args.plugin.is_dir() => args.plugin.join("fixtures"),
        None => anyhow::bail!("--fixtures FOLDER is needed with a .wasm file"),
    };
    let settings = args
        .settings
        .iter()
        .map(|s| {
            s.split_once('=')
                .filter(|(k, _)| !k.is_empty())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .with_context(|| format!("--setting expects KEY=VALUE, got '{s}'"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let ctx = cli.context()?;
    let run = TestRun {
        component,
        fixtures,
        kind: args.kind.clone(),
        settings,
    };
    let results = fixtures::run(ctx.config.runtime_settings(&ctx.data_dir), &run).await?;
    let failed = results.iter().filter(|r| !r.passed()).count();
    for r in &results {
        if r.passed() {
            out!("ok    {}", r.name)?;
        } else {
            out!("FAIL  {}", r.name)?;
            for d in &r.differences {
                out!("      {d}")?;
            }
        }
    }
    out!(
        "{} passed, {failed} failed ({})",
        results.len() - failed,
        run.component.display()
    )?;
    Ok(if failed == 0 { exit::OK } else { exit::NO })
}
