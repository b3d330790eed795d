//! A tenant's mapping per kind, as the console's Mappings screen and the admin API show it:
//! both sides' fields (QuoteWerks' field list, M3's field catalog, with descriptions), the
//! rules between them, a preview on the last real document of that kind, rule suggestions
//! with scores (`ferry mapping suggest`'s own code), and saved versions
//! ([`super::mappings_versions`]: save, activate, roll back).

use serde::Serialize;
use serde_json::Value as Json;
use utoipa::ToSchema;

use super::mappings_versions::{self as versions, Index, VersionMeta};
use super::{Context, ServiceError, plugins};
use crate::flows::quote_to_order::{self, Checkpoint};
use crate::mapping::engine::Level;
use crate::mapping::suggest::{self, Schema};
use crate::mapping::{DEFAULTS, Mapping, MappingError};
use crate::runtime::Role;
use ferry_store::StoreError;

/// The longest mapping text accepted (the shipped ones are under 10 KiB).
pub const MAX_TEXT: usize = 256 * 1024;

/// The schemas a kind maps between, as `ferry mapping suggest` names them.
pub fn schemas(kind: &str) -> Option<(&'static str, &'static str)> {
    Some(match kind {
        "quote-to-order" => ("quotewerks:quote", "m3:order"),
        "quote-to-customer" => ("quotewerks:quote", "m3:customer"),
        "customer-to-erp" => ("quotewerks:customer", "m3:customer"),
        "customer-to-quoting" => ("m3:customer", "quotewerks:customer"),
        "item-to-product" => ("m3:item", "quotewerks:product"),
        _ => return None,
    })
}

/// The kinds a tenant can map (every shipped default's).
pub fn kinds() -> Vec<&'static str> {
    DEFAULTS
        .iter()
        .map(|(k, _)| *k)
        .filter(|k| schemas(k).is_some())
        .collect()
}

/// One field of either side.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldView {
    /// As a rule reads or writes it: `DocNo`, `id.customer`, `CUNO`.
    pub name: String,
    /// `header` or `lines`.
    pub level: String,
    pub description: String,
    /// text, decimal, integer, date or boolean.
    pub r#type: String,
    pub length: Option<usize>,
    /// Whether a rule of the mapping reads (source) or writes (target) it.
    pub used: bool,
}

/// One rule of the mapping: the target field and what it reads.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleView {
    pub level: String,
    pub target: String,
    /// The value expression as written.
    pub expression: String,
    pub reads: Vec<String>,
}

/// A tenant's mapping for a kind and everything around it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MappingView {
    pub tenant: String,
    pub kind: String,
    /// `quotewerks:quote`, … (as `ferry mapping suggest --from` names it).
    pub source: String,
    pub target: String,
    /// The text serving now: the active saved version, else the configured one.
    pub text: String,
    /// 0: the configured mapping (the tenant's `mapping.KIND` setting, else the shipped
    /// default); N: saved version N.
    pub active_version: u32,
    pub versions: Vec<VersionMeta>,
    /// Whether a rollback has a version to go back to.
    pub can_roll_back: bool,
    pub source_fields: Vec<FieldView>,
    pub target_fields: Vec<FieldView>,
    pub rules: Vec<RuleView>,
}

/// A mapping tried on the last real document of its kind.
#[derive(Debug, Serialize, ToSchema)]
pub struct Preview {
    /// The run whose recorded document was mapped; None: there is none yet.
    pub run: Option<String>,
    pub quote_number: Option<String>,
    /// The mapped document; None when the mapping refused it or there was nothing to map.
    #[schema(value_type = Option<Object>)]
    pub output: Option<Json>,
    /// Errors and warnings, each naming field and line.
    pub issues: Vec<String>,
    /// What happened, in one sentence.
    pub message: String,
}

/// One target field's suggested rules, best first.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestionView {
    pub level: String,
    pub target: String,
    pub description: String,
    pub candidates: Vec<CandidateView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateView {
    pub source: String,
    /// 0..1.
    pub score: f64,
    /// The proposed rule, as a line of the mapping file.
    pub rule: String,
    /// The words that matched.
    pub why: String,
}

fn level(l: Level) -> String {
    match l {
        Level::Header => "header",
        Level::Lines => "lines",
    }
    .to_string()
}

fn unknown_kind(tenant: &str, kind: &str) -> ServiceError {
    ServiceError::Store(StoreError::NotFound(format!(
        "mapping kind '{kind}' (tenant '{tenant}'): one of {}",
        kinds().join(", ")
    )))
}

/// Where in the text a mapping error is: TOML's own line and column, or the line of the
/// rule or table it names (`[header] CUOR`), column 1.
pub fn locate(text: &str, err: &MappingError) -> Option<(usize, usize)> {
    match err {
        MappingError::Toml(m) => {
            let at = m.find("line ")?;
            let rest = &m[at + 5..];
            let line: usize = rest
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()?;
            let column = rest
                .find("column ")
                .and_then(|c| {
                    rest[c + 7..]
                        .split(|ch: char| !ch.is_ascii_digit())
                        .next()?
                        .parse()
                        .ok()
                })
                .unwrap_or(1);
            Some((line, column))
        }
        MappingError::Invalid { place, .. } => {
            let section = place.strip_prefix('[')?.split(']').next()?;
            let key = place
                .split_once("] ")
                .map(|(_, k)| k.split(['.', ' ']).next().unwrap_or(k).trim_matches('"'));
            let mut in_section = false;
            for (i, l) in text.lines().enumerate() {
                let t = l.trim();
                if t.starts_with('[') {
                    in_section = t.trim_start_matches('[').trim_end_matches(']').trim() == section;
                    if in_section && key.is_none() {
                        return Some((i + 1, 1));
                    }
                    continue;
                }
                if in_section
                    && let Some(k) = key
                    && let Some(rest) = t.trim_start_matches('"').strip_prefix(k)
                    && rest.trim_start_matches('"').trim_start().starts_with('=')
                {
                    return Some((i + 1, l.len() - l.trim_start().len() + 1));
                }
            }
            None
        }
    }
}

/// `text` parsed as a mapping for `kind`; a bad one is an input error naming line and column.
pub fn parse(text: &str, kind: &str) -> Result<Mapping, ServiceError> {
    if text.len() > MAX_TEXT {
        return Err(ServiceError::Input(format!(
            "the mapping is {} bytes; at most {MAX_TEXT}",
            text.len()
        )));
    }
    let mapping = Mapping::parse(text).map_err(|e| {
        let at = locate(text, &e)
            .map(|(l, c)| format!("line {l}, column {c}: "))
            .unwrap_or_default();
        ServiceError::Input(format!("{at}{e}"))
    })?;
    if mapping.kind() != kind {
        return Err(ServiceError::Input(format!(
            "line 1, column 1: the mapping declares kind '{}', this is the {kind} mapping",
            mapping.kind()
        )));
    }
    Ok(mapping)
}

/// The tenant's transform settings as the active transform is given them (what `setting.X`
/// reads).
async fn settings(ctx: &Context, tenant: &str) -> Result<Vec<(String, String)>, ServiceError> {
    let registry = plugins::open_registry(ctx).await?;
    let base = ctx.config.plugin_grants(tenant, Role::Transform)?;
    let settings = match registry.active(tenant, Role::Transform) {
        Some(a) => super::packages::serving_grants(&registry, tenant, &a.digest, &base).settings,
        None => base.settings.clone(),
    };
    Ok(settings.into_iter().collect())
}

/// The text serving `kind` now and its version (0: the configured one).
pub async fn current(
    ctx: &Context,
    tenant: &str,
    kind: &str,
) -> Result<(u32, String, Index), ServiceError> {
    ctx.tenant(tenant)?;
    let default = DEFAULTS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, t)| *t)
        .ok_or_else(|| unknown_kind(tenant, kind))?;
    let store = ctx.open_store().await?;
    let idx = versions::index(&*store, tenant, kind).await?;
    if let Some((version, text)) = versions::active_text(&*store, tenant, kind).await? {
        return Ok((version, text, idx));
    }
    let key = format!("mapping.{kind}");
    let configured = settings(ctx, tenant)
        .await?
        .into_iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v);
    Ok((0, configured.unwrap_or_else(|| default.to_string()), idx))
}

fn fields(schema: &Schema, used: impl Fn(&str, Level) -> bool) -> Vec<FieldView> {
    schema
        .fields
        .iter()
        .map(|f| FieldView {
            used: used(&f.name, f.level),
            name: f.name.clone(),
            level: level(f.level),
            description: f.description.clone(),
            r#type: format!("{:?}", f.ty).to_lowercase(),
            length: f.length,
        })
        .collect()
}

/// The tenant's mapping for `kind` with both sides' fields, its rules and its versions.
pub async fn view(ctx: &Context, tenant: &str, kind: &str) -> Result<MappingView, ServiceError> {
    let (active, text, idx) = current(ctx, tenant, kind).await?;
    let (from, to) = schemas(kind).ok_or_else(|| unknown_kind(tenant, kind))?;
    let source = suggest::source_schema(from).map_err(|e| ServiceError::Input(e.to_string()))?;
    let target = suggest::target_schema(to).map_err(|e| ServiceError::Input(e.to_string()))?;
    // The configured text may be anything a config holds: shown, with no rules, if it is bad.
    let rules = Mapping::parse(&text).map(|m| m.rules()).unwrap_or_default();
    let reads = |name: &str, l: Level| {
        rules.iter().any(|r| {
            r.reads.iter().any(|x| {
                x == name || (l == Level::Header && x.strip_prefix("header.") == Some(name))
            })
        })
    };
    let writes = |name: &str, l: Level| rules.iter().any(|r| r.level == l && r.target == name);
    Ok(MappingView {
        tenant: tenant.to_string(),
        kind: kind.to_string(),
        source: from.to_string(),
        target: to.to_string(),
        source_fields: fields(&source, reads),
        target_fields: fields(&target, writes),
        rules: rules
            .iter()
            .map(|r| RuleView {
                level: level(r.level),
                target: r.target.clone(),
                expression: r.expression.clone(),
                reads: r.reads.clone(),
            })
            .collect(),
        text,
        active_version: active,
        can_roll_back: !idx.history.is_empty(),
        versions: idx.versions,
    })
}

/// The last real document `kind` maps: a quote kind's is the last quote-to-order run's
/// recorded quote (with the customer it resolved); other kinds have none recorded yet.
async fn last_document(
    ctx: &Context,
    tenant: &str,
    kind: &str,
) -> Result<Option<(String, Option<String>, Checkpoint)>, ServiceError> {
    if !kind.starts_with("quote-") {
        return Ok(None);
    }
    let store = ctx.open_store().await?;
    let mut jobs: Vec<_> = store
        .jobs(Some(tenant), None)
        .await?
        .into_iter()
        .filter(|j| j.kind == quote_to_order::KIND)
        .collect();
    jobs.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(b.id.cmp(&a.id)));
    for job in jobs {
        if let Ok(cp) = serde_json::from_value::<Checkpoint>(job.checkpoint.clone())
            && cp.quote.is_some()
        {
            let number = super::journeys::quote_number(&job);
            return Ok(Some((job.key, number, cp)));
        }
    }
    Ok(None)
}

/// `text` mapped over the last real document of `kind` (nothing is stored or sent).
pub async fn preview(
    ctx: &Context,
    tenant: &str,
    kind: &str,
    text: &str,
) -> Result<Preview, ServiceError> {
    ctx.tenant(tenant)?;
    schemas(kind).ok_or_else(|| unknown_kind(tenant, kind))?;
    let mapping = parse(text, kind)?;
    let Some((run, quote_number, cp)) = last_document(ctx, tenant, kind).await? else {
        return Ok(Preview {
            run: None,
            quote_number: None,
            output: None,
            issues: Vec::new(),
            message: format!(
                "The mapping is valid. There is no recorded {kind} document for tenant '{tenant}' yet to preview it on."
            ),
        });
    };
    let mut ids = vec![("quote".to_string(), cp.quote_id.clone())];
    if let Some(c) = &cp.customer {
        ids.push(("customer".to_string(), c.clone()));
    }
    let context = ferry_domain::Context {
        tenant: tenant.to_string(),
        settings: settings(ctx, tenant).await?,
        ids,
    };
    let Some(quote) = cp.quote.as_ref() else {
        return Err(ServiceError::Input("the run has no recorded quote".into()));
    };
    let name = quote_number.clone().unwrap_or(run.clone());
    let show = |i: &ferry_domain::Issue| {
        let line = i
            .line
            .map(|l| format!(" (line {})", l + 1))
            .unwrap_or_default();
        let severity = format!("{:?}", i.severity).to_lowercase();
        format!("{severity} {}{line}: {}", i.field, i.message)
    };
    Ok(match mapping.map(quote, &context) {
        Ok(mapped) => Preview {
            output: serde_json::to_value(&mapped.document).ok(),
            issues: mapped.warnings.iter().map(show).collect(),
            message: format!("Quote {name} mapped."),
            run: Some(run),
            quote_number,
        },
        Err(issues) => Preview {
            output: None,
            issues: issues.iter().map(show).collect(),
            message: format!("The mapping refuses quote {name}."),
            run: Some(run),
            quote_number,
        },
    })
}

/// Rules suggested for every target field `text` (else the serving mapping) leaves unfilled,
/// scored on the last real document (`ferry mapping suggest`'s code).
pub async fn suggestions(
    ctx: &Context,
    tenant: &str,
    kind: &str,
    text: Option<&str>,
    top: usize,
) -> Result<Vec<SuggestionView>, ServiceError> {
    let (from, to) = schemas(kind).ok_or_else(|| unknown_kind(tenant, kind))?;
    let mapping = match text {
        Some(t) => parse(t, kind)?,
        None => {
            let (_, t, _) = current(ctx, tenant, kind).await?;
            parse(&t, kind)?
        }
    };
    ctx.tenant(tenant)?;
    let source = suggest::source_schema(from).map_err(|e| ServiceError::Input(e.to_string()))?;
    let target = suggest::target_schema(to).map_err(|e| ServiceError::Input(e.to_string()))?;
    let sample = last_document(ctx, tenant, kind)
        .await?
        .and_then(|(_, _, cp)| cp.quote);
    let known: Vec<_> = mapping
        .rules()
        .into_iter()
        .map(|r| (r.level, r.target, r.reads))
        .collect();
    let found = suggest::suggest(
        &source,
        &target,
        sample.as_ref(),
        &known,
        to.starts_with("m3:"),
        top.clamp(1, 10),
    );
    Ok(found
        .into_iter()
        .filter(|s| !s.candidates.is_empty())
        .map(|s| SuggestionView {
            level: level(s.target.level),
            target: s.target.name.clone(),
            description: s.target.description.clone(),
            candidates: s
                .candidates
                .into_iter()
                .map(|c| CandidateView {
                    rule: format!("{} = {}", s.target.name, c.rule),
                    source: c.source,
                    score: (c.score * 100.0).round() / 100.0,
                    why: c.why,
                })
                .collect(),
        })
        .collect())
}

/// Saves `text` as the tenant's next version of `kind` and activates it; a bad mapping stores
/// nothing.
pub async fn save(
    ctx: &Context,
    tenant: &str,
    kind: &str,
    text: &str,
    saved_by: &str,
) -> Result<VersionMeta, ServiceError> {
    ctx.tenant(tenant)?;
    schemas(kind).ok_or_else(|| unknown_kind(tenant, kind))?;
    parse(text, kind)?;
    let store = ctx.open_store().await?;
    Ok(versions::save(&*store, tenant, kind, text, saved_by).await?)
}

/// Makes `version` serve (0: the configured mapping).
pub async fn activate(
    ctx: &Context,
    tenant: &str,
    kind: &str,
    version: u32,
) -> Result<Index, ServiceError> {
    ctx.tenant(tenant)?;
    schemas(kind).ok_or_else(|| unknown_kind(tenant, kind))?;
    let store = ctx.open_store().await?;
    Ok(versions::activate(&*store, tenant, kind, version).await?)
}

/// Goes back to the version active before the current one.
pub async fn rollback(ctx: &Context, tenant: &str, kind: &str) -> Result<Index, ServiceError> {
    ctx.tenant(tenant)?;
    schemas(kind).ok_or_else(|| unknown_kind(tenant, kind))?;
    let store = ctx.open_store().await?;
    Ok(versions::rollback(&*store, tenant, kind).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_mapping_is_placed_at_its_line_and_column() {
        let toml_error =
            "[mapping]\nkind = \"quote-to-order\"\noutput = \"order\"\n[header]\nCUOR = \n";
        let e = parse(toml_error, "quote-to-order").expect_err("not TOML");
        assert!(e.to_string().starts_with("line 5, column"), "{e}");
        let bad_rule = "[mapping]\nkind = \"quote-to-order\"\noutput = \"order\"\n[header]\nORTP = \"'A'\"\n  CUOR = \"lookup(nope, DocNo)\"\n";
        let e = parse(bad_rule, "quote-to-order").expect_err("unknown table");
        assert!(e.to_string().starts_with("line 6, column 3: "), "{e}");
        let other_kind = DEFAULTS
            .iter()
            .find(|(k, _)| *k == "quote-to-customer")
            .map(|(_, t)| *t)
            .expect("shipped");
        assert!(parse(other_kind, "quote-to-order").is_err());
    }
}
