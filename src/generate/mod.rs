//! Generation: a synthetic but realistic Powerpipe mod, for tests and benchmarks.
//!
//! Owns `modlens generate --size N OUT`: [`generate`] writes a mod of about `N × 1,000`
//! top-level resources (at least ~30 for tiny sizes) shaped like the public Turbot AWS
//! compliance and insights mods: controls with SQL heredocs, queries, benchmark trees nested
//! five deep, dashboards with deeply nested anonymous blocks, variables, `.ppvars` files,
//! `locals` chained across files, `docs/*.md` pulled in with `file(...)`, and a sprinkling of
//! comments and strings that look like blocks (traps for a naive scanner). About 55% of the
//! resources are controls, 25% queries, 10% benchmarks and 3% dashboards; files average
//! ~7 resources and ~0.85 KB of source per resource.
//!
//! Architecture invariant: it writes files only under the directory it is given, which must be
//! empty or absent; it uses the standard library only and its own PRNG, so the same size and
//! seed always produce byte-identical files. Every `.pp` / `.ppvars` file it writes is valid
//! HCL, and every `children`, `query`, `base`, `var` and `local` reference resolves inside
//! the mod.

pub mod pathological;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Options for [`generate`].
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Thousands of top-level resources to write (`0.05` to `100`; `1.0` is about 1,000).
    pub size: f64,
    /// Seed of the PRNG: the same size and seed give byte-identical output.
    pub seed: u64,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        Self { size: 1.0, seed: 0 }
    }
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GenerateReport {
    /// Files written (`.pp`, `.ppvars` and `.md`).
    pub files: usize,
    /// Bytes written, summed over all files.
    pub bytes: u64,
    /// Top-level labelled blocks (`mod`, `control`, ...; not `locals`, not nested blocks).
    pub resources: usize,
    /// [`GenerateReport::resources`] split by block type.
    pub resources_by_type: BTreeMap<String, usize>,
}

/// Largest accepted [`GenerateOptions::size`] (one million resources).
const MAX_SIZE: f64 = 1000.0;

/// Writes a generated mod into `out` (created if missing; must be empty or absent, else io::ErrorKind::AlreadyExists).
pub fn generate(opts: &GenerateOptions, out: &Path) -> io::Result<GenerateReport> {
    if !opts.size.is_finite() || opts.size <= 0.0 || opts.size > MAX_SIZE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("size must be in (0, {MAX_SIZE}], got {}", opts.size),
        ));
    }
    prepare_out(out)?;
    let mut ctx = Ctx {
        rng: Rng::new(opts.seed),
        root: out.to_path_buf(),
        dirs: BTreeSet::new(),
        report: GenerateReport::default(),
        counter: 0,
    };
    let counts = Counts::for_size(opts.size);
    let plan = ctx.plan(&counts, opts.seed);
    ctx.write_mod(&plan)?;
    Ok(ctx.report)
}

/// Creates `out`, or checks that it is an empty directory.
fn prepare_out(out: &Path) -> io::Result<()> {
    if out.is_dir() {
        if fs::read_dir(out)?.next().is_some() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} is not empty", out.display()),
            ));
        }
        return Ok(());
    }
    if out.exists() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a directory", out.display()),
        ));
    }
    fs::create_dir_all(out)
}

// ---------------------------------------------------------------------------------------------
// PRNG

/// splitmix64: tiny, fast and good enough for shaping test data.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed ^ 0x6d6f_646c_656e_7321)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// A number in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    /// A random element; `items` must not be empty.
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Vocabulary

/// An AWS service: its folder/name prefix, display name, category and resource kinds.
struct Svc {
    key: &'static str,
    display: &'static str,
    category: &'static str,
    resources: &'static [&'static str],
}

const fn svc(
    key: &'static str,
    display: &'static str,
    category: &'static str,
    resources: &'static [&'static str],
) -> Svc {
    Svc {
        key,
        display,
        category,
        resources,
    }
}

#[rustfmt::skip]
const SERVICES: &[Svc] = &[
    svc("s3", "S3", "storage", &["bucket", "access_point", "multi_region_access_point"]),
    svc("ec2", "EC2", "compute", &["instance", "launch_template", "network_interface", "ami"]),
    svc("ebs", "EBS", "storage", &["volume", "snapshot"]),
    svc("iam", "IAM", "identity", &["user", "role", "policy", "access_key", "group"]),
    svc("rds", "RDS", "database", &["db_instance", "db_cluster", "db_snapshot"]),
    svc("dynamodb", "DynamoDB", "database", &["table", "backup"]),
    svc("lambda", "Lambda", "compute", &["function", "layer_version"]),
    svc("ecs", "ECS", "compute", &["cluster", "service", "task_definition"]),
    svc("eks", "EKS", "compute", &["cluster", "node_group", "addon"]),
    svc("vpc", "VPC", "network", &["subnet", "flow_log", "security_group", "route_table", "nat_gateway"]),
    svc("elb", "ELB", "network", &["application_load_balancer", "classic_load_balancer", "target_group"]),
    svc("cloudfront", "CloudFront", "network", &["distribution", "origin_access_identity"]),
    svc("cloudtrail", "CloudTrail", "logging", &["trail", "event_data_store"]),
    svc("cloudwatch", "CloudWatch", "logging", &["log_group", "alarm", "log_metric_filter"]),
    svc("kms", "KMS", "security", &["key", "alias"]),
    svc("secretsmanager", "Secrets Manager", "security", &["secret"]),
    svc("sns", "SNS", "application", &["topic", "topic_subscription"]),
    svc("sqs", "SQS", "application", &["queue"]),
    svc("efs", "EFS", "storage", &["file_system", "access_point", "mount_target"]),
    svc("redshift", "Redshift", "database", &["cluster", "parameter_group", "snapshot"]),
    svc("elasticache", "ElastiCache", "database", &["cluster", "replication_group"]),
    svc("opensearch", "OpenSearch", "analytics", &["domain"]),
    svc("emr", "EMR", "analytics", &["cluster", "security_configuration"]),
    svc("glue", "Glue", "analytics", &["job", "data_catalog", "crawler"]),
    svc("sagemaker", "SageMaker", "ml", &["notebook_instance", "endpoint_configuration", "model", "training_job"]),
    svc("apigateway", "API Gateway", "network", &["rest_api_stage", "domain_name", "api_key"]),
    svc("acm", "ACM", "security", &["certificate"]),
    svc("backup", "Backup", "storage", &["vault", "plan", "recovery_point"]),
    svc("config", "Config", "management", &["recorder", "rule"]),
    svc("guardduty", "GuardDuty", "security", &["detector", "finding"]),
    svc("ssm", "SSM", "management", &["parameter", "document", "managed_instance"]),
    svc("ecr", "ECR", "compute", &["repository", "image"]),
    svc("kinesis", "Kinesis", "analytics", &["stream", "firehose_delivery_stream"]),
    svc("wafv2", "WAFv2", "security", &["web_acl", "rule_group", "ip_set"]),
];

/// A compliance check: name suffix, title predicate, SQL condition (`@.` is the table alias),
/// and the ok/alarm reason fragments.
struct Check {
    key: &'static str,
    title: &'static str,
    cond: &'static str,
    ok: &'static str,
    alarm: &'static str,
}

const fn check(
    key: &'static str,
    title: &'static str,
    cond: &'static str,
    ok: &'static str,
    alarm: &'static str,
) -> Check {
    Check {
        key,
        title,
        cond,
        ok,
        alarm,
    }
}

#[rustfmt::skip]
const CHECKS: &[Check] = &[
    check("versioning_enabled", "should have versioning enabled", "@.versioning_enabled", "versioning enabled", "versioning disabled"),
    check("encryption_at_rest_enabled", "should have encryption at rest enabled", "@.encryption ->> 'Status' = 'Enabled'", "encryption at rest enabled", "encryption at rest disabled"),
    check("logging_enabled", "should have logging enabled", "@.logging is not null", "logging enabled", "logging disabled"),
    check("public_access_blocked", "should block public access", "coalesce((@.public_access_block ->> 'BlockPublicAcls')::bool, false)", "blocks public access", "allows public access"),
    check("in_vpc", "should be in a VPC", "@.vpc_id is not null", "in VPC ' || @.vpc_id || '", "not in VPC"),
    check("deletion_protection_enabled", "should have deletion protection enabled", "@.deletion_protection", "deletion protection enabled", "deletion protection disabled"),
    check("multi_az_enabled", "should have Multi-AZ enabled", "@.multi_az", "Multi-AZ enabled", "Multi-AZ disabled"),
    check("backup_enabled", "should have automated backups enabled", "@.backup_retention_period > 0", "automated backups enabled", "automated backups disabled"),
    check("kms_cmk_encrypted", "should be encrypted with a KMS CMK", "@.kms_key_id like 'arn:aws:kms:%'", "encrypted with KMS CMK", "not encrypted with KMS CMK"),
    check("secure_transport_required", "should enforce SSL", "@.policy_std -> 'Statement' @> '[{\"Condition\": {\"Bool\": {\"aws:securetransport\": [\"false\"]}}, \"Effect\": \"Deny\"}]'", "enforces SSL", "does not enforce SSL"),
    check("no_public_ip", "should not have a public IP address", "@.public_ip_address is null", "has no public IP address", "has public IP address ' || host(@.public_ip_address) || '"),
    check("tags_present", "should have tags", "@.tags is not null and @.tags <> '{}'", "has tags", "has no tags"),
    check("rotation_enabled", "should have automatic rotation enabled", "@.rotation_enabled", "rotation enabled", "rotation disabled"),
    check("access_logs_enabled", "should have access logging enabled", "(@.access_log_settings ->> 'DestinationArn') is not null", "access logging enabled", "access logging disabled"),
    check("cross_region_replication_enabled", "should have cross-region replication enabled", "@.replication -> 'Rules' @> '[{\"Status\": \"Enabled\"}]'", "cross-region replication enabled", "cross-region replication disabled"),
    check("unused_removed", "unused for 90 days should be removed", "@.last_used_date > now() - interval '90 days'", "used in the last 90 days", "not used in the last 90 days"),
    check("imdsv2_required", "should require IMDSv2", "@.metadata_options ->> 'HttpTokens' = 'required'", "requires IMDSv2", "does not require IMDSv2"),
    check("not_publicly_shared", "should not be publicly shared", "not (@.policy_std -> 'Statement' @> '[{\"Principal\": {\"AWS\": [\"*\"]}, \"Effect\": \"Allow\"}]')", "not publicly shared", "publicly shared"),
    check("monitoring_enabled", "should have detailed monitoring enabled", "@.monitoring_state = 'enabled'", "detailed monitoring enabled", "detailed monitoring disabled"),
    check("latest_runtime", "should use a supported runtime", "@.runtime not in ('nodejs12.x', 'python3.6', 'ruby2.5')", "uses a supported runtime", "uses deprecated runtime ' || @.runtime || '"),
    check("point_in_time_recovery_enabled", "should have point-in-time recovery enabled", "@.point_in_time_recovery_description ->> 'PointInTimeRecoveryStatus' = 'ENABLED'", "point-in-time recovery enabled", "point-in-time recovery disabled"),
    check("auto_minor_version_upgrade", "should have automatic minor version upgrades enabled", "@.auto_minor_version_upgrade", "automatic minor version upgrade enabled", "automatic minor version upgrade disabled"),
    check("restrict_wide_open_ingress", "should not allow ingress from 0.0.0.0/0", "not (@.ip_permissions @> '[{\"IpRanges\": [{\"CidrIp\": \"0.0.0.0/0\"}]}]')", "restricts ingress", "allows ingress from 0.0.0.0/0"),
    check("default_encryption_kms", "should use KMS for default encryption", "@.server_side_encryption_configuration #>> '{Rules,0,ApplyServerSideEncryptionByDefault,SSEAlgorithm}' = 'aws:kms'", "uses KMS default encryption", "does not use KMS default encryption"),
];

const SEVERITIES: &[&str] = &["low", "medium", "high", "critical"];
const ASPECTS: &[&str] = &[
    "encryption",
    "logging",
    "network_access",
    "data_protection",
    "identity",
    "resilience",
    "monitoring",
];
const FRAMEWORKS: &[(&str, &str)] = &[
    ("foundational_security_item_id", "fsbp"),
    ("cis_item_id", "cis"),
    ("pci_dss_v321", "pci"),
    ("nist_800_53_rev_5", "nist"),
    ("soc_2", "soc"),
    ("hipaa_final_omnibus_security_rule_2013", "hipaa"),
];
const DASH_KINDS: &[(&str, &str, bool)] = &[
    ("detail", "Detail", true),
    ("dashboard", "Dashboard", false),
    ("age_report", "Age Report", false),
    ("encryption_report", "Encryption Report", false),
    ("relationships", "Relationships", true),
    ("public_access_report", "Public Access Report", false),
];
const CHART_TYPES: &[&str] = &["donut", "column", "bar", "line", "pie"];
const REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-2",
];

/// "access_point" -> "Access Point".
fn title_case(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for (i, part) in word.split('_').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let mut chars = part.chars();
        if let Some(c) = chars.next() {
            out.extend(c.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

/// "a" or "an", for the word that follows.
fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// "access_point" -> "access points".
fn plural(word: &str) -> String {
    let spaced = word.replace('_', " ");
    if spaced.ends_with('s') {
        format!("{spaced}es")
    } else if let Some(stem) = spaced.strip_suffix('y') {
        format!("{stem}ies")
    } else {
        format!("{spaced}s")
    }
}

fn table_name(svc: &Svc, res: &str) -> String {
    format!("aws_{}_{}", svc.key, res)
}

/// The table alias a query uses for `res`: its first letter (`o` is taken by joins).
fn alias_for(res: &str) -> &str {
    match res.get(..1) {
        Some(a) if a != "o" && a.bytes().all(|b| b.is_ascii_lowercase()) => a,
        _ => "x",
    }
}

// ---------------------------------------------------------------------------------------------
// Counts and plan

/// How many resources of each type a size asks for.
struct Counts {
    target: usize,
    controls: usize,
    queries: usize,
    benchmarks: usize,
    dashboards: usize,
    nodes: usize,
    edges: usize,
    cards: usize,
    graphs: usize,
    detections: usize,
    detection_benchmarks: usize,
    variables: usize,
}

/// Variables every generated mod declares in `variables.pp`.
const ROOT_VARIABLES: usize = 7;

impl Counts {
    fn for_size(size: f64) -> Self {
        let target = (size * 1000.0).round().max(1.0) as usize;
        let pct = |p: f64| (target as f64 * p).round() as usize;
        let queries = pct(0.25).max(2);
        let benchmarks = pct(0.10).max(4);
        let dashboards = pct(0.03).max(1);
        let nodes = pct(0.006).max(1);
        let edges = pct(0.005).max(1);
        let cards = pct(0.002).max(1);
        let graphs = pct(0.002).max(1);
        let detections = pct(0.004).max(2);
        let detection_benchmarks = (detections / 8).max(1);
        let variables = pct(0.045).max(ROOT_VARIABLES);
        let fixed = 1
            + queries
            + benchmarks
            + dashboards
            + nodes
            + edges
            + cards
            + graphs
            + detections
            + detection_benchmarks
            + variables;
        let controls = target.saturating_sub(fixed).max(2);
        Self {
            target,
            controls,
            queries,
            benchmarks,
            dashboards,
            nodes,
            edges,
            cards,
            graphs,
            detections,
            detection_benchmarks,
            variables,
        }
    }
}

/// Splits `0..total` into `parts` near-equal consecutive ranges; returns the `i`-th.
fn share(total: usize, parts: usize, i: usize) -> Range<usize> {
    if parts == 0 {
        return 0..0;
    }
    (i * total / parts)..((i + 1) * total / parts)
}

/// A benchmark grouping several services of one category.
struct Category {
    key: &'static str,
    name: String,
    services: Vec<usize>,
}

/// A benchmark with its own file, its controls and (optionally) nested benchmarks.
struct Group {
    svc: usize,
    res: &'static str,
    name: String,
    file: String,
    controls: Range<usize>,
    nested: Vec<usize>,
    vars: Range<usize>,
    title_from_service: bool,
    framework: usize,
}

/// A benchmark nested under a [`Group`], in the group's file or a file of its own.
struct Nested {
    group: usize,
    name: String,
    file: String,
    aspect: &'static str,
    controls: Range<usize>,
    title_from_group: bool,
}

/// A control: its name, where it lives, what it checks and the query it may use.
struct Control {
    name: String,
    group: usize,
    svc: usize,
    res: &'static str,
    check: usize,
    query: Option<usize>,
}

/// A query referenced by one control.
struct CtrlQuery {
    name: String,
    control: usize,
    param: bool,
    /// Written after the controls in the group's file rather than under `query/`.
    inline: bool,
}

/// A variable declared in a group's file.
struct Var {
    name: String,
    kind: usize,
}

/// Variable types of group variables and the parameter name a control gives them.
const VAR_KINDS: &[(&str, &str)] = &[
    ("string", "owner_tag"),
    ("list(string)", "exempt_ids"),
    ("map(string)", "required_tags"),
    ("number", "max_age_days"),
    ("bool", "strict_mode"),
];

/// A dashboard and the range of [`Plan::dash_queries`] written after it.
struct Dash {
    name: String,
    svc: usize,
    res: &'static str,
    kind: usize,
    queries: Range<usize>,
}

/// A query written after (and used by) one dashboard.
struct DashQuery {
    name: String,
    /// The first query of a dashboard lists label/value pairs for its input.
    input: bool,
    /// Takes `param "arn" {}` (the other queries of a dashboard that has an input).
    param: bool,
}

/// A top-level node, edge, card, graph or detection.
struct Comp {
    name: String,
    svc: usize,
    res: &'static str,
    other: &'static str,
}

/// A detection benchmark and its children references.
struct DetBench {
    name: String,
    children: Vec<String>,
}

/// Names and relationships of every resource, decided before any file is written.
#[derive(Default)]
struct Plan {
    mod_name: String,
    services: Vec<usize>,
    service_bench: Vec<String>,
    categories: Vec<Category>,
    groups: Vec<Group>,
    nested: Vec<Nested>,
    controls: Vec<Control>,
    ctrl_queries: Vec<CtrlQuery>,
    vars: Vec<Var>,
    dashboards: Vec<Dash>,
    dash_queries: Vec<DashQuery>,
    nodes: Vec<Comp>,
    edges: Vec<Comp>,
    cards: Vec<Comp>,
    graphs: Vec<Comp>,
    detections: Vec<Comp>,
    detection_benchmarks: Vec<DetBench>,
}

impl Plan {
    fn svc(&self, i: usize) -> &'static Svc {
        &SERVICES[self.services[i]]
    }
}

// ---------------------------------------------------------------------------------------------
// Output

/// A file being written: a buffered writer that counts its bytes.
struct Sink {
    w: BufWriter<File>,
    bytes: u64,
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.w.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

/// Generator state: the PRNG, the output root and the running report.
struct Ctx {
    rng: Rng,
    root: PathBuf,
    dirs: BTreeSet<PathBuf>,
    report: GenerateReport,
    counter: usize,
}

/// Spaces for indentation levels.
fn pad(n: usize) -> &'static str {
    const SPACES: &str = "                                                ";
    &SPACES[..n.min(SPACES.len())]
}

/// Writes `key = <<-EOQ ... EOQ` at indentation `ind` with the body indented two more.
fn heredoc(w: &mut Sink, ind: usize, key: &str, tag: &str, lines: &[String]) -> io::Result<()> {
    let p = pad(ind);
    let q = pad(ind + 2);
    writeln!(w, "{p}{key} = <<-{tag}")?;
    for line in lines {
        if line.is_empty() {
            writeln!(w)?;
        } else {
            writeln!(w, "{q}{line}")?;
        }
    }
    writeln!(w, "{p}{tag}")
}

/// Writes `key = [ a, b, ]` one reference a line.
fn ref_list(w: &mut Sink, ind: usize, key: &str, refs: &[String]) -> io::Result<()> {
    let p = pad(ind);
    if refs.is_empty() {
        return writeln!(w, "{p}{key} = []");
    }
    writeln!(w, "{p}{key} = [")?;
    for r in refs {
        writeln!(w, "{p}  {r},")?;
    }
    writeln!(w, "{p}]")
}

impl Ctx {
    /// A unique name: `base` plus a global counter (with dashes when `dashed`).
    fn uniq(&mut self, base: &str, dashed: bool) -> String {
        self.counter += 1;
        if dashed {
            format!("{}-{}", base.replace('_', "-"), self.counter)
        } else {
            format!("{base}_{}", self.counter)
        }
    }

    fn count(&mut self, kind: &str) {
        self.report.resources += 1;
        *self
            .report
            .resources_by_type
            .entry(kind.to_string())
            .or_insert(0) += 1;
    }

    fn open(&mut self, rel: &str) -> io::Result<Sink> {
        let path = self.root.join(rel);
        if let Some(parent) = path.parent()
            && !self.dirs.contains(parent)
        {
            fs::create_dir_all(parent)?;
            self.dirs.insert(parent.to_path_buf());
        }
        Ok(Sink {
            w: BufWriter::with_capacity(64 * 1024, File::create(&path)?),
            bytes: 0,
        })
    }

    fn close(&mut self, mut sink: Sink) -> io::Result<()> {
        sink.flush()?;
        self.report.files += 1;
        self.report.bytes += sink.bytes;
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // Planning

    fn plan(&mut self, c: &Counts, seed: u64) -> Plan {
        let mut p = Plan {
            mod_name: format!("generated_{}_{}", c.target, seed),
            ..Plan::default()
        };
        self.plan_benchmarks(&mut p, c.benchmarks);
        self.plan_controls(&mut p, c.controls);
        // Queries: some referenced one-to-one by controls, the rest by dashboards.
        let q_dash_wanted = (c.queries * 2 / 5).min(c.dashboards * 6);
        let q_ctrl = (c.queries - q_dash_wanted).min(c.controls);
        self.plan_ctrl_queries(&mut p, q_ctrl);
        self.plan_variables(&mut p, c.variables - ROOT_VARIABLES);
        self.plan_dashboards(&mut p, c.dashboards, c.queries - q_ctrl);
        self.plan_components(&mut p, c);
        p
    }

    /// The benchmark tree: all_controls -> category -> service -> group -> nested.
    fn plan_benchmarks(&mut self, p: &mut Plan, n_benchmarks: usize) {
        let n_services = ((n_benchmarks - 1) / 4).clamp(1, SERVICES.len());
        let mut order: Vec<usize> = (0..SERVICES.len()).collect();
        self.rng.shuffle(&mut order);
        p.services = order[..n_services].to_vec();
        p.services.sort_unstable();

        for si in 0..n_services {
            let svc = p.svc(si);
            match p.categories.iter_mut().find(|cat| cat.key == svc.category) {
                Some(cat) => cat.services.push(si),
                None => {
                    let name = self.uniq(&format!("all_controls_{}", svc.category), false);
                    let services = vec![si];
                    p.categories.push(Category {
                        key: svc.category,
                        name,
                        services,
                    });
                }
            }
            p.service_bench
                .push(self.uniq(&format!("all_controls_{}", svc.key), false));
        }

        let remaining = n_benchmarks - 1 - p.categories.len() - n_services;
        let n_nested = if remaining >= 2 * n_services {
            remaining / 6
        } else {
            0
        };
        let n_groups = remaining - n_nested;

        for si in 0..n_services {
            let svc = p.svc(si);
            let in_service = share(n_groups, n_services, si);
            let per_service = in_service.len();
            for k in 0..per_service {
                let res = *self.rng.pick(svc.resources);
                let name = self.uniq(&format!("{}_{}", svc.key, res), false);
                let dir = if per_service > 40 {
                    format!("{}/part_{}", svc.key, k / 40)
                } else {
                    svc.key.to_string()
                };
                // Rare file names with a space before the extension (always one when possible).
                let space = p.groups.len() == 1 || self.rng.chance(0.01);
                let file = if space {
                    format!("{dir}/{name} .pp")
                } else {
                    format!("{dir}/{name}.pp")
                };
                let title_from_service = self.rng.chance(0.15);
                let framework = self.rng.below(FRAMEWORKS.len());
                p.groups.push(Group {
                    svc: si,
                    res,
                    name,
                    file,
                    controls: 0..0,
                    nested: Vec::new(),
                    vars: 0..0,
                    title_from_service,
                    framework,
                });
            }
        }

        for k in 0..n_nested {
            let gi = k * n_groups / n_nested;
            let aspect = *self.rng.pick(ASPECTS);
            let g = &p.groups[gi];
            let name = self.uniq(&format!("{}_{aspect}", g.name), false);
            let file = if self.rng.chance(0.5) {
                g.file.clone()
            } else {
                let dir = g.file.rsplit_once('/').map_or("", |(d, _)| d);
                format!("{dir}/{name}.pp")
            };
            let title_from_group = !g.title_from_service && self.rng.chance(0.3);
            p.groups[gi].nested.push(k);
            p.nested.push(Nested {
                group: gi,
                name,
                file,
                aspect,
                controls: 0..0,
                title_from_group,
            });
        }
    }

    /// Controls, split evenly over the leaf units in file order (a group, then its nested).
    fn plan_controls(&mut self, p: &mut Plan, n_controls: usize) {
        let mut units: Vec<(bool, usize)> = Vec::with_capacity(p.groups.len() + p.nested.len());
        for (gi, g) in p.groups.iter().enumerate() {
            units.push((true, gi));
            units.extend(g.nested.iter().map(|&ni| (false, ni)));
        }
        for (ui, &(is_group, idx)) in units.iter().enumerate() {
            let range = share(n_controls, units.len(), ui);
            let gi = if is_group { idx } else { p.nested[idx].group };
            let (svc, res) = (p.groups[gi].svc, p.groups[gi].res);
            for _ in range.clone() {
                let check = self.rng.below(CHECKS.len());
                let base = format!("{}_{}_{}", p.svc(svc).key, res, CHECKS[check].key);
                let dashed = self.rng.chance(0.02);
                let name = self.uniq(&base, dashed);
                let query = None;
                p.controls.push(Control {
                    name,
                    group: gi,
                    svc,
                    res,
                    check,
                    query,
                });
            }
            if is_group {
                p.groups[idx].controls = range;
            } else {
                p.nested[idx].controls = range;
            }
        }
    }

    /// Queries each referenced by exactly one control, spread evenly over the controls.
    fn plan_ctrl_queries(&mut self, p: &mut Plan, n: usize) {
        let n_controls = p.controls.len();
        for j in 0..n {
            let ci = j * n_controls / n;
            let ctl = &p.controls[ci];
            let base = format!(
                "{}_{}_{}",
                p.svc(ctl.svc).key,
                ctl.res,
                CHECKS[ctl.check].key
            );
            let inline = ctl.group.is_multiple_of(2);
            let dashed = self.rng.chance(0.02);
            let name = self.uniq(&base, dashed);
            let param = self.rng.chance(0.25);
            p.ctrl_queries.push(CtrlQuery {
                name,
                control: ci,
                param,
                inline,
            });
            p.controls[ci].query = Some(j);
        }
    }

    /// Variables beyond the root ones, declared in group files.
    fn plan_variables(&mut self, p: &mut Plan, n: usize) {
        let n_groups = p.groups.len();
        for gi in 0..n_groups {
            let vars = share(n, n_groups, gi);
            let (key, res) = (p.svc(p.groups[gi].svc).key, p.groups[gi].res);
            for _ in vars.clone() {
                let kind = self.rng.below(VAR_KINDS.len());
                let name = self.uniq(&format!("{key}_{res}_{}", VAR_KINDS[kind].1), false);
                p.vars.push(Var { name, kind });
            }
            p.groups[gi].vars = vars;
        }
    }

    /// Dashboards, round-robin over the services, each with its share of `n_queries`.
    fn plan_dashboards(&mut self, p: &mut Plan, n: usize, n_queries: usize) {
        const WHAT: &[&str] = &[
            "count",
            "by_region",
            "overview",
            "tags",
            "encryption_status",
            "age",
        ];
        for d in 0..n {
            let svc = d % p.services.len();
            let key = p.svc(svc).key;
            let res = *self.rng.pick(p.svc(svc).resources);
            let kind = self.rng.below(DASH_KINDS.len());
            let name = self.uniq(&format!("{key}_{res}_{}", DASH_KINDS[kind].0), false);
            let queries = share(n_queries, n, d);
            for k in 0..queries.len() {
                let what = if k == 0 {
                    "input"
                } else {
                    *self.rng.pick(WHAT)
                };
                let name = self.uniq(&format!("{key}_{res}_{what}"), false);
                let (input, param) = (k == 0, k > 0 && DASH_KINDS[kind].2);
                p.dash_queries.push(DashQuery { name, input, param });
            }
            p.dashboards.push(Dash {
                name,
                svc,
                res,
                kind,
                queries,
            });
        }
    }

    /// Top-level nodes, edges, cards, graphs, detections and detection benchmarks.
    fn plan_components(&mut self, p: &mut Plan, c: &Counts) {
        p.nodes = self.plan_comps(p, c.nodes, "node");
        p.edges = self.plan_comps(p, c.edges, "edge");
        p.cards = self.plan_comps(p, c.cards, "count");
        p.graphs = self.plan_comps(p, c.graphs, "relationships");
        p.detections = self.plan_comps(p, c.detections, "detect_changes");

        // With several detection benchmarks, the first is the parent of the others.
        let det_names: Vec<String> = p
            .detections
            .iter()
            .map(|d| format!("detection.{}", d.name))
            .collect();
        let n = c.detection_benchmarks;
        let leaves = if n > 1 { n - 1 } else { 1 };
        let mut leaf_names = Vec::new();
        for i in 0..n {
            let name = self.uniq("activity_detections", false);
            let children = if n > 1 && i == 0 {
                Vec::new()
            } else {
                leaf_names.push(format!("detection_benchmark.{name}"));
                det_names[share(det_names.len(), leaves, i + leaves - n)].to_vec()
            };
            p.detection_benchmarks.push(DetBench { name, children });
        }
        if n > 1 {
            p.detection_benchmarks[0].children = leaf_names;
        }
    }

    fn plan_comps(&mut self, p: &Plan, n: usize, what: &str) -> Vec<Comp> {
        (0..n)
            .map(|i| {
                let svc = i % p.services.len();
                let s = p.svc(svc);
                let res = *self.rng.pick(s.resources);
                let other = *self.rng.pick(s.resources);
                let base = match what {
                    "edge" => format!("{}_{res}_to_{other}", s.key),
                    "node" => format!("{}_{res}", s.key),
                    _ => format!("{}_{res}_{what}", s.key),
                };
                let name = self.uniq(&base, false);
                Comp {
                    name,
                    svc,
                    res,
                    other,
                }
            })
            .collect()
    }

    // -----------------------------------------------------------------------------------------
    // Writing

    fn write_mod(&mut self, p: &Plan) -> io::Result<()> {
        self.write_mod_file(p)?;
        self.write_variables()?;
        self.write_ppvars()?;
        self.write_locals()?;
        self.write_all_controls(p)?;
        for si in 0..p.services.len() {
            self.write_service(p, si)?;
        }
        for gi in 0..p.groups.len() {
            self.write_group(p, gi)?;
        }
        for ni in 0..p.nested.len() {
            self.write_nested(p, ni)?;
        }
        self.write_ctrl_queries(p)?;
        for di in 0..p.dashboards.len() {
            self.write_dashboard(p, di)?;
        }
        self.write_components(p)?;
        self.write_detections(p)
    }

    /// Writes `docs/<name>.md` and returns the `file(...)` expression pointing at it.
    fn doc(&mut self, name: &str, title: &str) -> io::Result<String> {
        let rel = format!("docs/{name}.md");
        let mut w = self.open(&rel)?;
        writeln!(w, "## Overview\n")?;
        writeln!(
            w,
            "{title}. This document explains what is checked and why.\n"
        )?;
        let paras = self.rng.range(1, 4);
        for i in 0..paras {
            writeln!(
                w,
                "Section {i}: resources are evaluated per account and region. Results with status \
                 `alarm` need attention; see the [AWS documentation](https://docs.aws.amazon.com/) \
                 for remediation steps. Templates such as `{{{{ .Region }}}}` are not expanded.\n"
            )?;
        }
        writeln!(
            w,
            "```sql\nselect arn, title from aws_example where region = 'us-east-1';\n```"
        )?;
        self.close(w)?;
        Ok(format!("file(\"./{rel}\")"))
    }

    /// Writes, now and then, a comment that looks like the start or end of a block.
    fn trap(&mut self, w: &mut Sink) -> io::Result<()> {
        if !self.rng.chance(0.18) {
            return Ok(());
        }
        let n = self.rng.below(10_000);
        match self.rng.below(8) {
            0 => writeln!(w, "# commented out: control \"old_{n}\" {{ sql = <<-EOQ\n")?,
            1 => writeln!(w, "// }}}}}}\n")?,
            2 => writeln!(
                w,
                "/* benchmark \"legacy_{n}\" {{\n  children = [\n    control.removed_{n},\n  ]\n}} */\n"
            )?,
            3 => writeln!(
                w,
                "/*\nquery \"disabled_{n}\" {{\n  sql = <<-EOQ\n    select 1 -- }}\n*/\n"
            )?,
            4 => writeln!(
                w,
                "# TODO(#{n}): re-enable once the plugin returns {{ \"Version\": \"2012-10-17\" }}\n"
            )?,
            5 => writeln!(
                w,
                "// dashboard \"draft_{n}\" {{\n#   title = \"Draft\"\n# }}\n"
            )?,
            6 => writeln!(w, "/* EOQ */ /* }} */ # EOT\n")?,
            _ => writeln!(w, "#}}\n// {{\n")?,
        }
        Ok(())
    }

    /// A description string: quoted (with the occasional `#`, `//` or `{{ }}`), or a heredoc.
    fn description(&mut self, w: &mut Sink, ind: usize, text: &str) -> io::Result<()> {
        let p = pad(ind);
        match self.rng.below(12) {
            0 => {
                let lines = vec![
                    text.to_string(),
                    String::new(),
                    "Resources are evaluated in every region; see the documentation for"
                        .to_string(),
                    "exceptions (e.g. # and // are not comments here, nor is /* this */)."
                        .to_string(),
                ];
                heredoc(w, ind, "description", "EOT", &lines)
            }
            2 => {
                let n = self.rng.below(500);
                writeln!(
                    w,
                    "{p}description = \"{text} See issue #{n} and https://console.aws.amazon.com/{{{{ service }}}}/home?region={{{{ region }}}}#/list.\""
                )
            }
            3 => writeln!(
                w,
                "{p}description = \"{text} // not a comment, /* nor this */.\""
            ),
            _ => writeln!(w, "{p}description = \"{text}\""),
        }
    }

    fn write_mod_file(&mut self, p: &Plan) -> io::Result<()> {
        let mut w = self.open("mod.pp")?;
        let doc = self.doc("index", "Generated AWS compliance mod")?;
        self.count("mod");
        writeln!(w, "mod \"{}\" {{", p.mod_name)?;
        writeln!(w, "  # Hub metadata")?;
        writeln!(w, "  title         = \"Generated AWS Compliance\"")?;
        writeln!(
            w,
            "  description   = \"Run {} controls across {} AWS services using Powerpipe and Steampipe.\"",
            p.controls.len(),
            p.services.len()
        )?;
        writeln!(w, "  color         = \"#FF9900\"")?;
        writeln!(w, "  documentation = {doc}")?;
        writeln!(
            w,
            "  icon          = \"/images/mods/turbot/aws-compliance.svg\""
        )?;
        writeln!(
            w,
            "  categories    = [\"aws\", \"compliance\", \"public cloud\", \"security\"]"
        )?;
        writeln!(w)?;
        writeln!(w, "  opengraph {{")?;
        writeln!(w, "    title       = \"Powerpipe Mod for AWS Compliance\"")?;
        writeln!(
            w,
            "    description = \"Run controls across all of your AWS accounts.\""
        )?;
        writeln!(w, "  }}")?;
        writeln!(w)?;
        writeln!(w, "  require {{")?;
        writeln!(w, "    plugin \"aws\" {{")?;
        writeln!(w, "      min_version = \"0.1.0\"")?;
        writeln!(w, "    }}")?;
        writeln!(w, "  }}")?;
        writeln!(w, "}}")?;
        self.close(w)
    }

    fn write_variables(&mut self) -> io::Result<()> {
        let mut w = self.open("variables.pp")?;
        writeln!(w, "// Benchmarks and controls")?;
        writeln!(w)?;
        let vars: [(&str, &str, &str, &str); ROOT_VARIABLES] = [
            (
                "common_dimensions",
                "list(string)",
                "A list of common dimensions to add to each control.",
                "[\"account_id\", \"region\"]",
            ),
            (
                "tag_dimensions",
                "list(string)",
                "A list of tags to add as dimensions to each control.",
                "[]",
            ),
            (
                "enable_strict_checks",
                "bool",
                "If true, controls apply stricter filters.",
                "false",
            ),
            (
                "allowed_regions",
                "list(string)",
                "A list of AWS regions resources may be created in.",
                "[\"us-east-1\", \"us-east-2\", \"us-west-1\", \"us-west-2\"]",
            ),
            (
                "default_tags",
                "map(string)",
                "Tags every resource should carry.",
                "{\n    Environment = \"dev\"\n    \"Owner\"     = \"platform\"\n  }",
            ),
            (
                "max_access_key_age_days",
                "number",
                "The maximum number of days access keys may exist for.",
                "90",
            ),
            (
                "default_owner",
                "string",
                "Owner reported for untagged resources (# is allowed).",
                "\"platform-team\"",
            ),
        ];
        for (name, ty, desc, default) in vars {
            self.count("variable");
            writeln!(w, "variable \"{name}\" {{")?;
            writeln!(w, "  type        = {ty}")?;
            writeln!(w, "  description = \"{desc}\"")?;
            if name == "common_dimensions" {
                writeln!(w, "  # A list of common dimensions to add to each control.")?;
                writeln!(
                    w,
                    "  # Available dimensions: account_id, connection_name, region"
                )?;
            }
            writeln!(w, "  default     = {default}")?;
            writeln!(w, "}}")?;
            writeln!(w)?;
        }
        self.close(w)
    }

    fn write_ppvars(&mut self) -> io::Result<()> {
        let mut w = self.open("powerpipe.ppvars")?;
        writeln!(w, "# Values for this mod's variables; see variables.pp.")?;
        writeln!(
            w,
            "common_dimensions = [\"account_id\", \"connection_name\", \"region\"]"
        )?;
        writeln!(w, "tag_dimensions    = [\"Environment\", \"Owner\"]")?;
        writeln!(w, "allowed_regions   = [\"us-east-1\", \"eu-west-1\"]")?;
        writeln!(w, "default_tags = {{")?;
        writeln!(w, "  Environment = \"prod\"")?;
        writeln!(w, "  \"cost-center\" = \"1234\"")?;
        writeln!(w, "}}")?;
        self.close(w)?;
        let mut w = self.open("generated.auto.ppvars")?;
        writeln!(w, "// Loaded automatically.")?;
        writeln!(w, "enable_strict_checks    = true")?;
        writeln!(w, "max_access_key_age_days = 45")?;
        self.close(w)
    }

    fn write_locals(&mut self) -> io::Result<()> {
        let mut w = self.open("locals.pp")?;
        w.write_all(
            br##"# Tags and SQL snippets shared by every benchmark and control.
locals {
  common_tags = {
    category = "Compliance"
    plugin   = "aws"
    service  = "AWS"
  }
}

locals {
  # Dimensions appended to every control's rows; __QUALIFIED_NAME__ is replaced per query.
  common_dimensions_qualifier_sql = <<-EOQ
  %{~if contains(var.common_dimensions, "account_id")}, __QUALIFIED_NAME__account_id%{endif~}
  %{~if contains(var.common_dimensions, "region")}, __QUALIFIED_NAME__region%{endif~}
  EOQ

  tag_dimensions_qualifier_sql = <<-EOQ
  %{~for dim in var.tag_dimensions}, __QUALIFIED_NAME__tags ->> '${dim}' as "${replace(dim, "\"", "\\\"")}"%{endfor~}
  EOQ
}

locals {
  common_dimensions_sql = replace(local.common_dimensions_qualifier_sql, "__QUALIFIED_NAME__", "")
  tag_dimensions_sql    = replace(local.tag_dimensions_qualifier_sql, "__QUALIFIED_NAME__", "")
}
"##,
        )?;
        self.close(w)?;

        let mut w = self.open("aws.pp")?;
        writeln!(w, "locals {{")?;
        writeln!(w, "  aws_common_tags = merge(local.common_tags, {{")?;
        writeln!(w, "    cloud    = \"AWS\"")?;
        writeln!(w, "    \"source\" = \"generated\"")?;
        writeln!(w, "  }})")?;
        writeln!(w, "}}")?;
        self.close(w)
    }

    fn write_all_controls(&mut self, p: &Plan) -> io::Result<()> {
        let mut w = self.open("all_controls.pp")?;
        writeln!(w, "locals {{")?;
        writeln!(
            w,
            "  all_controls_common_tags = merge(local.aws_common_tags, {{"
        )?;
        writeln!(w, "    type = \"Benchmark\"")?;
        writeln!(w, "  }})")?;
        writeln!(w, "}}")?;
        writeln!(w)?;
        let doc = self.doc("all_controls", "All controls")?;
        self.count("benchmark");
        writeln!(w, "benchmark \"all_controls\" {{")?;
        writeln!(w, "  title         = \"All Controls\"")?;
        writeln!(
            w,
            "  description   = \"This benchmark contains all controls grouped by category.\""
        )?;
        writeln!(w, "  documentation = {doc}")?;
        let refs: Vec<String> = p
            .categories
            .iter()
            .map(|c| format!("benchmark.{}", c.name))
            .collect();
        ref_list(&mut w, 2, "children", &refs)?;
        writeln!(w)?;
        writeln!(w, "  tags = local.all_controls_common_tags")?;
        writeln!(w, "}}")?;
        for cat in &p.categories {
            writeln!(w)?;
            self.trap(&mut w)?;
            self.count("benchmark");
            writeln!(w, "benchmark \"{}\" {{", cat.name)?;
            writeln!(w, "  title       = \"{}\"", title_case(cat.key))?;
            writeln!(
                w,
                "  description = \"Controls for {} services.\"",
                cat.key.replace('_', " ")
            )?;
            let refs: Vec<String> = cat
                .services
                .iter()
                .map(|&s| format!("benchmark.{}", p.service_bench[s]))
                .collect();
            ref_list(&mut w, 2, "children", &refs)?;
            writeln!(w)?;
            if self.rng.chance(0.5) {
                writeln!(
                    w,
                    "  tags = {{ \"category\" = \"{}\", type = \"Benchmark\" }}",
                    title_case(cat.key)
                )?;
            } else {
                writeln!(w, "  tags = local.all_controls_common_tags")?;
            }
            writeln!(w, "}}")?;
        }
        self.close(w)
    }

    fn write_service(&mut self, p: &Plan, si: usize) -> io::Result<()> {
        let svc = p.svc(si);
        let mut w = self.open(&format!("{}/{}.pp", svc.key, svc.key))?;
        writeln!(w, "locals {{")?;
        writeln!(
            w,
            "  {}_common_tags = merge(local.aws_common_tags, {{",
            svc.key
        )?;
        writeln!(w, "    service = \"AWS/{}\"", svc.display)?;
        writeln!(w, "  }})")?;
        writeln!(w, "}}")?;
        writeln!(w)?;
        let name = &p.service_bench[si];
        self.count("benchmark");
        writeln!(w, "benchmark \"{name}\" {{")?;
        writeln!(w, "  title       = \"{}\"", svc.display)?;
        let text = format!(
            "This section contains recommendations for configuring {} resources.",
            svc.display
        );
        self.description(&mut w, 2, &text)?;
        if self.rng.chance(0.2) {
            let doc = self.doc(name, svc.display)?;
            writeln!(w, "  documentation = {doc}")?;
        }
        let refs: Vec<String> = p
            .groups
            .iter()
            .filter(|g| g.svc == si)
            .map(|g| format!("benchmark.{}", g.name))
            .collect();
        ref_list(&mut w, 2, "children", &refs)?;
        writeln!(w)?;
        writeln!(w, "  tags = merge(local.{}_common_tags, {{", svc.key)?;
        writeln!(w, "    type = \"Benchmark\"")?;
        writeln!(w, "  }})")?;
        writeln!(w, "}}")?;
        self.close(w)
    }

    /// Writes a `locals { <name>_common_tags = merge(local.<parent>_common_tags, {...}) }` block.
    fn chained_locals(
        &mut self,
        w: &mut Sink,
        name: &str,
        parent: &str,
        key: &str,
        value: &str,
    ) -> io::Result<()> {
        writeln!(w, "locals {{")?;
        writeln!(
            w,
            "  {name}_common_tags = merge(local.{parent}_common_tags, {{"
        )?;
        writeln!(w, "    {key} = \"{value}\"")?;
        writeln!(w, "  }})")?;
        writeln!(w, "}}")?;
        writeln!(w)
    }

    fn write_group(&mut self, p: &Plan, gi: usize) -> io::Result<()> {
        let g = &p.groups[gi];
        let svc = p.svc(g.svc);
        let mut w = self.open(&g.file)?;
        self.chained_locals(
            &mut w,
            &g.name,
            svc.key,
            "resource_type",
            &title_case(g.res),
        )?;
        self.trap(&mut w)?;

        for vi in g.vars.clone() {
            self.write_group_var(&mut w, &p.vars[vi], svc, g.res)?;
        }

        self.count("benchmark");
        writeln!(w, "benchmark \"{}\" {{", g.name)?;
        if g.title_from_service {
            writeln!(
                w,
                "  title       = benchmark.{}.title",
                p.service_bench[g.svc]
            )?;
        } else {
            writeln!(
                w,
                "  title       = \"{} {}\"",
                svc.display,
                title_case(g.res)
            )?;
        }
        let text = format!(
            "Checks for {} {} configuration.",
            svc.display,
            g.res.replace('_', " ")
        );
        self.description(&mut w, 2, &text)?;
        if self.rng.chance(0.05) {
            let doc = self.doc(&g.name, &text)?;
            writeln!(w, "  documentation = {doc}")?;
        }
        let mut refs: Vec<String> = g
            .nested
            .iter()
            .map(|&ni| format!("benchmark.{}", p.nested[ni].name))
            .collect();
        refs.extend(
            g.controls
                .clone()
                .map(|ci| format!("control.{}", p.controls[ci].name)),
        );
        ref_list(&mut w, 2, "children", &refs)?;
        writeln!(w)?;
        self.benchmark_tags(&mut w, &g.name, svc)?;
        writeln!(w, "}}")?;

        // Group variables become control parameters, one control each.
        let mut var_iter = g.vars.clone();
        for ci in g.controls.clone() {
            writeln!(w)?;
            self.trap(&mut w)?;
            let var = if p.controls[ci].query.is_none() {
                var_iter.next()
            } else {
                None
            };
            let fw = FRAMEWORKS[g.framework];
            self.write_control(&mut w, p, ci, &g.name, fw, var.map(|v| &p.vars[v]))?;
        }
        self.write_inline_queries(&mut w, p, g.controls.clone())?;

        // Nested benchmarks that share this file.
        for &ni in &g.nested {
            if p.nested[ni].file == g.file {
                writeln!(w)?;
                self.write_nested_body(&mut w, p, ni)?;
            }
        }
        self.close(w)
    }

    /// Writes the nested benchmarks that have a file of their own.
    fn write_nested(&mut self, p: &Plan, ni: usize) -> io::Result<()> {
        let n = &p.nested[ni];
        if n.file == p.groups[n.group].file {
            return Ok(());
        }
        let mut w = self.open(&n.file)?;
        self.write_nested_body(&mut w, p, ni)?;
        self.close(w)
    }

    /// A nested benchmark's locals, the benchmark, its controls and its inline queries.
    fn write_nested_body(&mut self, w: &mut Sink, p: &Plan, ni: usize) -> io::Result<()> {
        let n = &p.nested[ni];
        let g = &p.groups[n.group];
        let svc = p.svc(g.svc);
        self.chained_locals(w, &n.name, &g.name, "aspect", &title_case(n.aspect))?;
        self.trap(w)?;
        self.count("benchmark");
        writeln!(w, "benchmark \"{}\" {{", n.name)?;
        if n.title_from_group {
            writeln!(w, "  title       = benchmark.{}.title", g.name)?;
        } else {
            writeln!(
                w,
                "  title       = \"{} {}\"",
                title_case(g.res),
                title_case(n.aspect)
            )?;
        }
        let text = format!(
            "{} checks for {} {}.",
            title_case(n.aspect),
            svc.display,
            plural(g.res)
        );
        self.description(w, 2, &text)?;
        let refs: Vec<String> = n
            .controls
            .clone()
            .map(|ci| format!("control.{}", p.controls[ci].name))
            .collect();
        ref_list(w, 2, "children", &refs)?;
        writeln!(w)?;
        self.benchmark_tags(w, &n.name, svc)?;
        writeln!(w, "}}")?;
        for ci in n.controls.clone() {
            writeln!(w)?;
            self.trap(w)?;
            self.write_control(w, p, ci, &n.name, FRAMEWORKS[g.framework], None)?;
        }
        self.write_inline_queries(w, p, n.controls.clone())
    }

    /// Writes the queries of `controls` that live next to them rather than under `query/`.
    fn write_inline_queries(
        &mut self,
        w: &mut Sink,
        p: &Plan,
        controls: Range<usize>,
    ) -> io::Result<()> {
        for ci in controls {
            if let Some(qi) = p.controls[ci].query
                && p.ctrl_queries[qi].inline
            {
                writeln!(w)?;
                self.write_ctrl_query(w, p, qi)?;
            }
        }
        Ok(())
    }

    fn benchmark_tags(&mut self, w: &mut Sink, local: &str, svc: &Svc) -> io::Result<()> {
        match self.rng.below(4) {
            0 => writeln!(w, "  tags = local.{local}_common_tags"),
            1 => writeln!(
                w,
                "  tags = {{ \"service\" = \"AWS/{}\", type = \"Benchmark\" }}",
                svc.display
            ),
            _ => {
                writeln!(w, "  tags = merge(local.{local}_common_tags, {{")?;
                writeln!(w, "    type = \"Benchmark\"")?;
                writeln!(w, "  }})")
            }
        }
    }

    fn write_group_var(&mut self, w: &mut Sink, v: &Var, svc: &Svc, res: &str) -> io::Result<()> {
        let (ty, what) = VAR_KINDS[v.kind];
        let default = match v.kind {
            0 => format!("\"{}-owner\"", svc.key),
            1 => {
                let n = self.rng.range(0, 3);
                let items: Vec<String> =
                    (0..n).map(|i| format!("\"{}-{i:04}\"", svc.key)).collect();
                format!("[{}]", items.join(", "))
            }
            2 => "{\n    Environment = \"prod\"\n    \"team\"      = \"security\"\n  }".to_string(),
            3 => self.rng.range(7, 400).to_string(),
            _ => if self.rng.chance(0.5) {
                "true"
            } else {
                "false"
            }
            .to_string(),
        };
        self.count("variable");
        writeln!(w, "variable \"{}\" {{", v.name)?;
        writeln!(w, "  type        = {ty}")?;
        writeln!(
            w,
            "  description = \"The {} applied to {} {}.\"",
            what.replace('_', " "),
            svc.display,
            plural(res)
        )?;
        writeln!(w, "  default     = {default}")?;
        writeln!(w, "}}")?;
        writeln!(w)
    }

    fn control_tags(
        &mut self,
        w: &mut Sink,
        local: &str,
        fw: (&str, &str),
        svc: &Svc,
    ) -> io::Result<()> {
        let (key, short) = fw;
        let n = self.rng.range(1, 40);
        match self.rng.below(8) {
            0 | 1 => writeln!(w, "  tags = local.{local}_common_tags"),
            2 => writeln!(
                w,
                "  tags = {{ \"service\" = \"AWS/{}\", type = \"Control\", {key} = \"{short}_{n}\" }}",
                svc.display
            ),
            3 => {
                writeln!(w, "  tags = merge(local.{local}_common_tags, {{")?;
                writeln!(w, "    \"{key}\" = \"{}_{n}\"", svc.key)?;
                writeln!(w, "    other_checks = \"true\"")?;
                writeln!(w, "  }})")
            }
            _ => writeln!(
                w,
                "  tags = merge(local.{local}_common_tags, {{ {key} = \"{}_{n}\" }})",
                svc.key
            ),
        }
    }

    fn write_control(
        &mut self,
        w: &mut Sink,
        p: &Plan,
        ci: usize,
        local: &str,
        fw: (&str, &str),
        var: Option<&Var>,
    ) -> io::Result<()> {
        let c = &p.controls[ci];
        let svc = p.svc(c.svc);
        let check = &CHECKS[c.check];
        self.count("control");
        writeln!(w, "control \"{}\" {{", c.name)?;
        let title = format!("{} {} {}", svc.display, plural(c.res), check.title);
        writeln!(w, "  title       = \"{title}\"")?;
        let alarm = check.alarm.split(" ' ||").next().unwrap_or(check.alarm);
        let text = match self.rng.below(4) {
            0 => format!("{title}. Failing resources report: {alarm}."),
            1 => format!(
                "This control checks whether {} {} {}.",
                svc.display,
                plural(c.res),
                check
                    .title
                    .replace("should be ", "are ")
                    .replace("should not ", "do not ")
                    .replace("should ", "")
            ),
            2 => format!(
                "{title}; any {} is non-compliant when its reason reads '{alarm}'.",
                c.res.replace('_', " ")
            ),
            _ => format!(
                "{} {} {} to meet {} requirements.",
                svc.display,
                plural(c.res),
                check.title,
                fw.1.to_uppercase()
            ),
        };
        self.description(w, 2, &text)?;
        if self.rng.chance(0.015) {
            let doc = self.doc(&c.name, &title)?;
            writeln!(w, "  documentation = {doc}")?;
        }
        if self.rng.chance(0.8) {
            writeln!(w, "  severity    = \"{}\"", self.rng.pick(SEVERITIES))?;
        }
        match c.query {
            Some(qi) => {
                let q = &p.ctrl_queries[qi];
                writeln!(w, "  query       = query.{}", q.name)?;
                if q.param {
                    writeln!(w)?;
                    writeln!(w, "  args = {{")?;
                    writeln!(w, "    allowed_regions = var.allowed_regions")?;
                    writeln!(w, "  }}")?;
                }
            }
            None => {
                let param = match var {
                    Some(v) => Some((VAR_KINDS[v.kind].1, format!("var.{}", v.name), v.kind)),
                    None if self.rng.chance(0.12) => {
                        Some(("max_age_days", "var.max_access_key_age_days".to_string(), 3))
                    }
                    None => None,
                };
                let lines = self.control_sql(svc, c.res, check, param.as_ref().map(|x| x.2));
                heredoc(w, 2, "sql", "EOQ", &lines)?;
                if let Some((pname, default, _)) = &param {
                    writeln!(w)?;
                    if self.rng.chance(0.4) {
                        writeln!(w, "  args = {{")?;
                        writeln!(w, "    {pname} = {default}")?;
                        writeln!(w, "  }}")?;
                        writeln!(w)?;
                    }
                    writeln!(w, "  param \"{pname}\" {{")?;
                    writeln!(
                        w,
                        "    description = \"The {} to compare against.\"",
                        pname.replace('_', " ")
                    )?;
                    writeln!(w, "    default     = {default}")?;
                    writeln!(w, "  }}")?;
                }
            }
        }
        writeln!(w)?;
        self.control_tags(w, local, fw, svc)?;
        writeln!(w, "}}")
    }

    /// The SQL of a control: 10–40 lines in the style of the Turbot compliance mods.
    fn control_sql(
        &mut self,
        svc: &Svc,
        res: &str,
        check: &Check,
        param: Option<usize>,
    ) -> Vec<String> {
        let a = alias_for(res);
        let table = table_name(svc, res);
        let dot = format!("{a}.");
        let cond = check.cond.replace("@.", &dot);
        let ok = check.ok.replace("@.", &dot);
        let alarm = check.alarm.replace("@.", &dot);
        let mut l: Vec<String> = Vec::with_capacity(40);
        let cte = self.rng.chance(0.15);
        if cte {
            l.push(format!("with {res}_statements as ("));
            l.push("  select".into());
            l.push("    arn,".into());
            l.push("    jsonb_array_elements(policy_std -> 'Statement') as s".into());
            l.push("  from".into());
            l.push(format!("    {table}"));
            l.push("  where".into());
            l.push("    policy_std is not null".into());
            l.push("), public_statements as (".into());
            l.push("  select distinct".into());
            l.push("    arn".into());
            l.push("  from".into());
            l.push(format!("    {res}_statements,"));
            l.push("    jsonb_array_elements_text(s -> 'Principal' -> 'AWS') as p".into());
            l.push("  where".into());
            l.push("    s ->> 'Effect' = 'Allow'".into());
            l.push(
                "    and (p = '*' or s ->> 'Action' like '%*%' or s ->> 'Resource' = '*/*')".into(),
            );
            l.push(")".into());
        }
        l.push("select".into());
        l.push(format!("  {a}.arn as resource,"));
        l.push("  case".into());
        if self.rng.chance(0.2) {
            l.push(format!(
                "    when {a}.tags ->> 'skip_compliance' = 'true' then 'skip'"
            ));
        }
        l.push(format!("    when {cond} then 'ok'"));
        l.push("    else 'alarm'".into());
        l.push("  end as status,".into());
        l.push("  case".into());
        l.push(format!("    when {cond} then {a}.title || ' {ok}.'"));
        l.push(format!("    else {a}.title || ' {alarm}.'"));
        l.push("  end as reason".into());
        match self.rng.below(3) {
            0 => {
                l.push("  ${local.tag_dimensions_sql}".into());
                l.push("  ${local.common_dimensions_sql}".into());
            }
            1 => {
                l.push(format!(
                    "  ${{replace(local.tag_dimensions_qualifier_sql, \"__QUALIFIED_NAME__\", \"{a}.\")}}"
                ));
                l.push(format!(
                    "  ${{replace(local.common_dimensions_qualifier_sql, \"__QUALIFIED_NAME__\", \"{a}.\")}}"
                ));
            }
            _ => {
                l.push(format!("  , {a}.region"));
                l.push(format!("  , {a}.account_id"));
            }
        }
        l.push("from".into());
        l.push(format!("  {table} as {a}"));
        if cte {
            l.push(format!(
                "  left join public_statements as ps on ps.arn = {a}.arn"
            ));
        }
        if self.rng.chance(0.2) {
            let other = *self.rng.pick(svc.resources);
            l.push(format!(
                "  left join {} as o on o.{res}_arn = {a}.arn and o.region = {a}.region",
                table_name(svc, other)
            ));
        }
        let mut wheres: Vec<String> = Vec::new();
        if self.rng.chance(0.3) {
            wheres.push(format!("{a}.region is not null"));
        }
        if self.rng.chance(0.15) {
            wheres.push(
                "-- skip resources tagged { \"team\": \"sandbox\" } # per policy".to_string(),
            );
            wheres.push(format!("not ({a}.tags @> '{{\"team\": \"sandbox\"}}')"));
        }
        if self.rng.chance(0.2) {
            wheres.push(format!(
                "{a}.tags #>> '{{owner,name}}' is distinct from 'nobody'"
            ));
        }
        match param {
            Some(1) => wheres.push(format!(
                "{a}.arn not in (select jsonb_array_elements_text($1::jsonb))"
            )),
            Some(2) => wheres.push(format!("not ({a}.tags @> $1::jsonb)")),
            Some(3) => wheres.push(format!(
                "{a}.create_date < now() - ($1 || ' days')::interval"
            )),
            Some(4) => wheres.push("$1::bool".to_string()),
            Some(_) => wheres.push(format!("coalesce({a}.tags ->> 'Owner', $1) is not null")),
            None => {}
        }
        if self.rng.chance(0.12) {
            wheres.push(format!(
                "%{{ if var.enable_strict_checks }}{a}.account_id is not null%{{ else }}true%{{ endif }}"
            ));
        }
        if !wheres.is_empty() {
            l.push("where".into());
            let mut first = true;
            for clause in wheres {
                if clause.starts_with("--") {
                    l.push(format!("  {clause}"));
                } else if first {
                    l.push(format!("  {clause}"));
                    first = false;
                } else {
                    l.push(format!("  and {clause}"));
                }
            }
        }
        if self.rng.chance(0.2) {
            l.push("order by".into());
            l.push(format!("  {a}.arn;"));
        }
        while l.len() < 10 {
            l.push(String::new());
        }
        l
    }

    /// Writes the controls' queries that do not live next to their control, under `query/`,
    /// twelve a file, in a folder named after the first query's service.
    fn write_ctrl_queries(&mut self, p: &Plan) -> io::Result<()> {
        let outside: Vec<usize> = (0..p.ctrl_queries.len())
            .filter(|&q| !p.ctrl_queries[q].inline)
            .collect();
        for (file_no, chunk) in outside.chunks(12).enumerate() {
            let svc = p.svc(p.controls[p.ctrl_queries[chunk[0]].control].svc);
            let mut w = self.open(&format!("query/{}/{}_{file_no}.pp", svc.key, svc.key))?;
            for (k, &qi) in chunk.iter().enumerate() {
                if k > 0 {
                    writeln!(w)?;
                }
                self.trap(&mut w)?;
                self.write_ctrl_query(&mut w, p, qi)?;
            }
            self.close(w)?;
        }
        Ok(())
    }

    fn write_ctrl_query(&mut self, w: &mut Sink, p: &Plan, qi: usize) -> io::Result<()> {
        let q = &p.ctrl_queries[qi];
        let c = &p.controls[q.control];
        let svc = p.svc(c.svc);
        let check = &CHECKS[c.check];
        self.count("query");
        writeln!(w, "query \"{}\" {{", q.name)?;
        if self.rng.chance(0.5) {
            writeln!(
                w,
                "  title       = \"{} {} {}\"",
                svc.display,
                plural(c.res),
                check.title
            )?;
            writeln!(w, "  description = \"Query behind control {}.\"", c.name)?;
        }
        let lines = self.control_sql(svc, c.res, check, if q.param { Some(1) } else { None });
        heredoc(w, 2, "sql", "EOQ", &lines)?;
        if q.param {
            writeln!(w)?;
            writeln!(w, "  param \"allowed_regions\" {{")?;
            writeln!(w, "    description = \"Regions to check.\"")?;
            writeln!(w, "    default     = [\"us-east-1\", \"us-west-2\"]")?;
            writeln!(w, "  }}")?;
        }
        writeln!(w, "}}")
    }

    // -----------------------------------------------------------------------------------------
    // Dashboards

    /// SQL of a dashboard panel or query: `input` lists label/value pairs, else a summary.
    fn dash_sql(&mut self, svc: &Svc, res: &str, input: bool, arn: bool) -> Vec<String> {
        let table = table_name(svc, res);
        let mut l: Vec<String> = Vec::with_capacity(24);
        if input {
            l.push("select".into());
            l.push("  title as label,".into());
            l.push("  arn as value,".into());
            l.push("  json_build_object(".into());
            l.push("    'account_id', account_id,".into());
            l.push("    'region', region".into());
            l.push("  ) as tags".into());
            l.push("from".into());
            l.push(format!("  {table}"));
            l.push("order by".into());
            l.push("  title;".into());
            return l;
        }
        match self.rng.below(4) {
            0 => {
                l.push("select".into());
                l.push("  count(*) as value,".into());
                l.push(format!(
                    "  '{}' as label,",
                    title_case(&plural(res).replace(' ', "_"))
                ));
                l.push("  case count(*) when 0 then 'ok' else 'alert' end as type".into());
                l.push("from".into());
                l.push(format!("  {table}"));
                if arn {
                    l.push("where".into());
                    l.push("  arn = $1;".into());
                }
            }
            1 => {
                l.push("select".into());
                l.push("  region as \"Region\",".into());
                l.push("  count(*) as \"Total\"".into());
                l.push("from".into());
                l.push(format!("  {table}"));
                if arn {
                    l.push("where".into());
                    l.push("  account_id = split_part($1, ':', 5)".into());
                }
                l.push("group by".into());
                l.push("  region".into());
                l.push("order by".into());
                l.push("  region;".into());
            }
            2 => {
                l.push("select".into());
                l.push("  tag ->> 'Key' as \"Key\",".into());
                l.push("  tag ->> 'Value' as \"Value\"".into());
                l.push("from".into());
                l.push(format!("  {table},"));
                l.push("  jsonb_array_elements(tags_src) as tag".into());
                if arn {
                    l.push("where".into());
                    l.push("  arn = $1".into());
                }
                l.push("order by".into());
                l.push("  tag ->> 'Key';".into());
            }
            _ => {
                l.push("with details as (".into());
                l.push("  select".into());
                l.push("    arn,".into());
                l.push("    title,".into());
                l.push("    date_part('day', now() - create_date) as age_in_days,".into());
                l.push("    tags #>> '{Owner}' as owner".into());
                l.push("  from".into());
                l.push(format!("    {table}"));
                l.push(")".into());
                l.push("select".into());
                l.push("  title as \"Name\",".into());
                l.push("  age_in_days as \"Age in Days\",".into());
                l.push(
                    "  coalesce(owner, 'unknown') as \"Owner\", -- { owner } may be null".into(),
                );
                l.push("  arn as \"ARN\"".into());
                l.push("from".into());
                l.push("  details".into());
                if arn {
                    l.push("where".into());
                    l.push("  arn = $1".into());
                }
                l.push("order by".into());
                l.push("  age_in_days desc;".into());
            }
        }
        l
    }

    fn write_dashboard(&mut self, p: &Plan, di: usize) -> io::Result<()> {
        let d = &p.dashboards[di];
        let svc = p.svc(d.svc);
        let (_, kind_title, has_input) = DASH_KINDS[d.kind];
        let mut w = self.open(&format!("dashboards/{}/{}.pp", svc.key, d.name))?;
        self.count("dashboard");
        writeln!(w, "dashboard \"{}\" {{", d.name)?;
        writeln!(w)?;
        writeln!(
            w,
            "  title         = \"AWS {} {} {kind_title}\"",
            svc.display,
            title_case(d.res)
        )?;
        if self.rng.chance(0.1) {
            let doc = self.doc(&d.name, kind_title)?;
            writeln!(w, "  documentation = {doc}")?;
        }
        writeln!(w)?;
        match self.rng.below(3) {
            0 => writeln!(
                w,
                "  tags = merge(local.{}_common_tags, {{ type = \"{kind_title}\" }})",
                svc.key
            )?,
            1 => writeln!(w, "  tags = local.{}_common_tags", svc.key)?,
            _ => writeln!(
                w,
                "  tags = {{ \"service\" = \"AWS/{}\", type = \"Report\" }}",
                svc.display
            )?,
        }

        let queries: Vec<&DashQuery> = d.queries.clone().map(|qi| &p.dash_queries[qi]).collect();
        // 10–40 nested blocks, most dashboards nearer the low end.
        let upper = self.rng.range(12, 39);
        let mut budget = self.rng.range(10, upper) as isize;
        let input = if has_input {
            let name = format!("{}_arn", d.res);
            writeln!(w)?;
            writeln!(w, "  input \"{name}\" {{")?;
            let what = d.res.replace('_', " ");
            writeln!(w, "    title = \"Select {} {what}:\"", article(&what))?;
            match queries.first() {
                Some(q) => writeln!(w, "    query = query.{}", q.name)?,
                None => {
                    let lines = self.dash_sql(svc, d.res, true, false);
                    heredoc(&mut w, 4, "sql", "EOQ", &lines)?;
                }
            }
            writeln!(w, "    width = 4")?;
            writeln!(w, "  }}")?;
            budget -= 1;
            Some(name)
        } else {
            None
        };
        if self.rng.chance(0.4) {
            writeln!(w)?;
            writeln!(w, "  input \"region\" {{")?;
            writeln!(w, "    title = \"Region\"")?;
            writeln!(w, "    type  = \"select\"")?;
            writeln!(w, "    width = 2")?;
            writeln!(w)?;
            let n = self.rng.range(2, 4);
            for r in &REGIONS[..n] {
                if self.rng.chance(0.5) {
                    writeln!(w, "    option \"{r}\" {{}}")?;
                } else {
                    writeln!(w, "    option \"{r}\" {{")?;
                    writeln!(w, "      label = \"{}\"", r.to_uppercase())?;
                    writeln!(w, "    }}")?;
                }
            }
            writeln!(w, "  }}")?;
            budget -= 1 + n as isize;
        }

        let mut dc = DashCtx {
            p,
            d,
            svc,
            input,
            queries,
            budget,
            labels: 0,
        };
        while dc.budget > 0 {
            writeln!(w)?;
            self.dash_container(&mut w, &mut dc, 2, 1)?;
        }
        writeln!(w, "}}")?;

        // The dashboard's own queries follow it, as in the insights mods.
        for q in &dc.queries {
            writeln!(w)?;
            self.trap(&mut w)?;
            self.count("query");
            writeln!(w, "query \"{}\" {{", q.name)?;
            let lines = self.dash_sql(svc, d.res, q.input, q.param);
            heredoc(&mut w, 2, "sql", "EOQ", &lines)?;
            if q.param {
                writeln!(w)?;
                writeln!(w, "  param \"arn\" {{}}")?;
            }
            writeln!(w, "}}")?;
        }
        self.close(w)
    }

    /// A `container` holding panels and, above depth 2, sometimes another container.
    fn dash_container(
        &mut self,
        w: &mut Sink,
        dc: &mut DashCtx<'_>,
        ind: usize,
        depth: usize,
    ) -> io::Result<()> {
        let p = pad(ind);
        dc.budget -= 1;
        if self.rng.chance(0.15) {
            dc.labels += 1;
            writeln!(w, "{p}container \"{}_c{}\" {{", dc.d.res, dc.labels)?;
        } else {
            writeln!(w, "{p}container {{")?;
        }
        if depth > 1 && self.rng.chance(0.5) {
            writeln!(w, "{p}  width = {}", self.rng.pick(&[4, 6, 8, 12]))?;
        }
        let n = self.rng.range(1, 4);
        for k in 0..n {
            if k > 0 && dc.budget <= 0 {
                break;
            }
            if k > 0 {
                writeln!(w)?;
            }
            if depth < 3 && dc.budget > 2 && self.rng.chance(0.25) {
                self.dash_container(w, dc, ind + 2, depth + 1)?;
            } else {
                self.dash_panel(w, dc, ind + 2)?;
            }
        }
        writeln!(w, "{p}}}")
    }

    /// `query = query.x` (with args when it takes the input) or an inline `sql` heredoc.
    fn dash_source(&mut self, w: &mut Sink, dc: &DashCtx<'_>, ind: usize) -> io::Result<()> {
        let p = pad(ind);
        let candidates: Vec<&&DashQuery> = dc.queries.iter().filter(|q| !q.input).collect();
        if !candidates.is_empty() && self.rng.chance(0.6) {
            let q = *self.rng.pick(&candidates);
            writeln!(w, "{p}query = query.{}", q.name)?;
            if let (true, Some(input)) = (q.param, &dc.input) {
                writeln!(w, "{p}args = {{")?;
                writeln!(w, "{p}  arn = self.input.{input}.value")?;
                writeln!(w, "{p}}}")?;
            }
            return Ok(());
        }
        let lines = self.dash_sql(dc.svc, dc.d.res, false, false);
        heredoc(w, ind, "sql", "EOQ", &lines)
    }

    /// A card, chart, table, graph or text panel; only one-block panels once the budget is low.
    fn dash_panel(&mut self, w: &mut Sink, dc: &mut DashCtx<'_>, ind: usize) -> io::Result<()> {
        let p = pad(ind);
        // Charts take 4 blocks and graphs up to 8: keep the total within the budget.
        let kind = if dc.budget < 9 {
            *self.rng.pick(&[0, 9])
        } else {
            self.rng.below(10)
        };
        dc.budget -= 1;
        let labelled = self.rng.chance(0.3);
        let open = |w: &mut Sink, kind: &str, dc: &mut DashCtx<'_>| -> io::Result<()> {
            if labelled {
                dc.labels += 1;
                writeln!(w, "{p}{kind} \"{}_{kind}_{}\" {{", dc.d.res, dc.labels)
            } else {
                writeln!(w, "{p}{kind} {{")
            }
        };
        match kind {
            0..=2 => {
                open(w, "card", dc)?;
                if self.rng.chance(0.2) {
                    let card = self.rng.pick(&dc.p.cards);
                    writeln!(w, "{p}  base  = card.{}", card.name)?;
                } else {
                    self.dash_source(w, dc, ind + 2)?;
                }
                writeln!(w, "{p}  width = {}", self.rng.pick(&[2, 3, 4]))?;
                if self.rng.chance(0.3) {
                    writeln!(w, "{p}  type  = \"info\"")?;
                }
            }
            3 | 4 => {
                open(w, "chart", dc)?;
                writeln!(w, "{p}  title = \"{} by Status\"", title_case(dc.d.res))?;
                writeln!(w, "{p}  type  = \"{}\"", self.rng.pick(CHART_TYPES))?;
                writeln!(w, "{p}  width = 4")?;
                self.dash_source(w, dc, ind + 2)?;
                writeln!(w)?;
                writeln!(w, "{p}  series \"count\" {{")?;
                writeln!(w, "{p}    point \"ok\" {{")?;
                writeln!(w, "{p}      color = \"ok\"")?;
                writeln!(w, "{p}    }}")?;
                writeln!(w, "{p}    point \"alarm\" {{")?;
                writeln!(w, "{p}      color = \"alert\"")?;
                writeln!(w, "{p}    }}")?;
                writeln!(w, "{p}  }}")?;
                dc.budget -= 3;
            }
            5 | 6 => {
                open(w, "table", dc)?;
                writeln!(w, "{p}  title = \"Overview\"")?;
                writeln!(w, "{p}  width = {}", self.rng.pick(&[6, 12]))?;
                self.dash_source(w, dc, ind + 2)?;
                writeln!(w)?;
                writeln!(w, "{p}  column \"ARN\" {{")?;
                writeln!(w, "{p}    display = \"none\"")?;
                writeln!(w, "{p}  }}")?;
                if self.rng.chance(0.5) {
                    writeln!(w)?;
                    writeln!(w, "{p}  column \"Name\" {{")?;
                    writeln!(
                        w,
                        "{p}    href = \"${{dashboard.{}.url_path}}?input.{}_arn={{{{.ARN | @uri}}}}\"",
                        dc.d.name, dc.d.res
                    )?;
                    writeln!(w, "{p}  }}")?;
                    dc.budget -= 1;
                }
                dc.budget -= 1;
            }
            7 | 8 => {
                open(w, "graph", dc)?;
                writeln!(w, "{p}  title     = \"Relationships\"")?;
                writeln!(w, "{p}  type      = \"graph\"")?;
                writeln!(w, "{p}  direction = \"TD\"")?;
                writeln!(w)?;
                dc.labels += 1;
                let with = format!(
                    "{}_for_{}_{}",
                    plural(dc.d.res).replace(' ', "_"),
                    dc.d.res,
                    dc.labels
                );
                writeln!(w, "{p}  with \"{with}\" {{")?;
                let lines = with_sql(dc.svc, dc.d.res, dc.input.is_some());
                heredoc(w, ind + 4, "sql", "EOQ", &lines)?;
                if let Some(input) = &dc.input {
                    writeln!(w)?;
                    writeln!(w, "{p}    args = {{")?;
                    writeln!(w, "{p}      arn = self.input.{input}.value")?;
                    writeln!(w, "{p}    }}")?;
                }
                writeln!(w, "{p}  }}")?;
                let n = self.rng.range(1, 3);
                for _ in 0..n {
                    let node = pick_near(&mut self.rng, &dc.p.nodes, dc.d.svc);
                    writeln!(w)?;
                    writeln!(w, "{p}  node {{")?;
                    writeln!(w, "{p}    base = node.{}", node.name)?;
                    writeln!(w, "{p}    args = {{")?;
                    writeln!(w, "{p}      {}_arns = with.{with}.rows[*].arn", node.res)?;
                    writeln!(w, "{p}    }}")?;
                    writeln!(w, "{p}  }}")?;
                    let edge = pick_near(&mut self.rng, &dc.p.edges, dc.d.svc);
                    writeln!(w)?;
                    writeln!(w, "{p}  edge {{")?;
                    writeln!(w, "{p}    base = edge.{}", edge.name)?;
                    writeln!(w, "{p}    args = {{")?;
                    writeln!(w, "{p}      {}_arns = with.{with}.rows[*].arn", edge.res)?;
                    writeln!(w, "{p}    }}")?;
                    writeln!(w, "{p}  }}")?;
                }
                if self.rng.chance(0.4) {
                    dc.labels += 1;
                    writeln!(w)?;
                    writeln!(w, "{p}  node \"{}_extra_{}\" {{", dc.d.res, dc.labels)?;
                    let lines = self.node_sql(dc.svc, dc.d.res);
                    heredoc(w, ind + 4, "sql", "EOQ", &lines)?;
                    writeln!(w, "{p}  }}")?;
                    dc.budget -= 1;
                }
                dc.budget -= 1 + 2 * n as isize;
            }
            _ => {
                open(w, "text", dc)?;
                if self.rng.chance(0.5) {
                    writeln!(
                        w,
                        "{p}  value = \"## {} # not a comment {{{{ .Title }}}}\"",
                        title_case(dc.d.res)
                    )?;
                } else {
                    let lines = vec![
                        format!("## {}", title_case(dc.d.res)),
                        String::new(),
                        "Markdown with `code`, a { brace } and a /* fake comment */.".to_string(),
                    ];
                    heredoc(w, ind + 2, "value", "EOT", &lines)?;
                }
            }
        }
        writeln!(w, "{p}}}")
    }

    fn node_sql(&mut self, svc: &Svc, res: &str) -> Vec<String> {
        let table = table_name(svc, res);
        vec![
            "select".into(),
            "  arn as id,".into(),
            "  title as title,".into(),
            "  jsonb_build_object(".into(),
            "    'ARN', arn,".into(),
            "    'Account ID', account_id,".into(),
            "    'Region', region".into(),
            "  ) as properties".into(),
            "from".into(),
            format!("  {table}"),
            "  join unnest($1::text[]) as a on arn = a and account_id = split_part(a, ':', 5);"
                .into(),
        ]
    }

    fn write_components(&mut self, p: &Plan) -> io::Result<()> {
        for (chunk_no, chunk) in p.nodes.chunks(8).enumerate() {
            let mut w = self.open(&format!("dashboards/components/nodes_{chunk_no}.pp"))?;
            for (k, n) in chunk.iter().enumerate() {
                if k > 0 {
                    writeln!(w)?;
                }
                self.trap(&mut w)?;
                let svc = p.svc(n.svc);
                self.count("node");
                writeln!(w, "node \"{}\" {{", n.name)?;
                writeln!(w, "  title = \"{} {}\"", svc.display, title_case(n.res))?;
                let lines = self.node_sql(svc, n.res);
                heredoc(&mut w, 2, "sql", "EOQ", &lines)?;
                writeln!(w)?;
                writeln!(w, "  param \"{}_arns\" {{}}", n.res)?;
                writeln!(w, "}}")?;
            }
            self.close(w)?;
        }
        for (chunk_no, chunk) in p.edges.chunks(8).enumerate() {
            let mut w = self.open(&format!("dashboards/components/edges_{chunk_no}.pp"))?;
            for (k, e) in chunk.iter().enumerate() {
                if k > 0 {
                    writeln!(w)?;
                }
                let svc = p.svc(e.svc);
                self.count("edge");
                writeln!(w, "edge \"{}\" {{", e.name)?;
                writeln!(w, "  title = \"{}\"", e.other.replace('_', " "))?;
                let lines: Vec<String> = vec![
                    "select".into(),
                    "  f.arn as from_id,".into(),
                    "  t.arn as to_id".into(),
                    "from".into(),
                    format!("  {} as f", table_name(svc, e.res)),
                    format!(
                        "  join {} as t on t.arn = any(f.{}_arns)",
                        table_name(svc, e.other),
                        e.other
                    ),
                    "where".into(),
                    "  f.arn = any($1);".into(),
                ];
                heredoc(&mut w, 2, "sql", "EOQ", &lines)?;
                writeln!(w)?;
                writeln!(w, "  param \"{}_arns\" {{}}", e.res)?;
                writeln!(w, "}}")?;
            }
            self.close(w)?;
        }
        let mut w = self.open("dashboards/components/cards.pp")?;
        for (k, c) in p.cards.iter().enumerate() {
            if k > 0 {
                writeln!(w)?;
            }
            let svc = p.svc(c.svc);
            self.count("card");
            writeln!(w, "card \"{}\" {{", c.name)?;
            writeln!(
                w,
                "  title = \"{} {}\"",
                svc.display,
                title_case(&plural(c.res).replace(' ', "_"))
            )?;
            let lines = self.dash_sql(svc, c.res, false, false);
            heredoc(&mut w, 2, "sql", "EOQ", &lines)?;
            writeln!(w, "  width = 2")?;
            writeln!(w, "  type  = \"info\"")?;
            writeln!(w, "}}")?;
        }
        for g in &p.graphs {
            writeln!(w)?;
            let svc = p.svc(g.svc);
            self.count("graph");
            writeln!(w, "graph \"{}\" {{", g.name)?;
            writeln!(
                w,
                "  title     = \"{} {} Relationships\"",
                svc.display,
                title_case(g.res)
            )?;
            writeln!(w, "  type      = \"graph\"")?;
            writeln!(w, "  direction = \"LR\"")?;
            writeln!(w)?;
            let node = self.rng.pick(&p.nodes);
            writeln!(w, "  node {{")?;
            writeln!(
                w,
                "    base = node.{} # args are passed by the including dashboard",
                node.name
            )?;
            writeln!(w, "  }}")?;
            let edge = self.rng.pick(&p.edges);
            writeln!(w)?;
            writeln!(w, "  edge {{")?;
            writeln!(w, "    base = edge.{}", edge.name)?;
            writeln!(w, "  }}")?;
            writeln!(w)?;
            writeln!(w, "  param \"arn\" {{}}")?;
            writeln!(w, "}}")?;
        }
        self.close(w)
    }

    fn write_detections(&mut self, p: &Plan) -> io::Result<()> {
        for (chunk_no, chunk) in p.detections.chunks(8).enumerate() {
            let mut w = self.open(&format!("detections/detections_{chunk_no}.pp"))?;
            for (k, d) in chunk.iter().enumerate() {
                if k > 0 {
                    writeln!(w)?;
                }
                self.trap(&mut w)?;
                let svc = p.svc(d.svc);
                self.count("detection");
                writeln!(w, "detection \"{}\" {{", d.name)?;
                writeln!(
                    w,
                    "  title           = \"Detect {} {} Changes\"",
                    svc.display,
                    title_case(d.res)
                )?;
                writeln!(
                    w,
                    "  description     = \"Detect when a {} {} was modified.\"",
                    svc.display,
                    d.res.replace('_', " ")
                )?;
                writeln!(w, "  severity        = \"{}\"", self.rng.pick(SEVERITIES))?;
                writeln!(
                    w,
                    "  display_columns = [\"timestamp\", \"operation\", \"resource\", \"actor\", \"source_ip\"]"
                )?;
                let lines: Vec<String> = vec![
                    "select".into(),
                    "  tp_timestamp as timestamp,".into(),
                    "  event_name as operation,".into(),
                    "  request_parameters ->> 'resourceArn' as resource,".into(),
                    "  user_identity ->> 'arn' as actor,".into(),
                    "  tp_source_ip as source_ip".into(),
                    "from".into(),
                    "  aws_cloudtrail_log".into(),
                    "where".into(),
                    format!("  event_source = '{}.amazonaws.com'", svc.key),
                    format!(
                        "  and event_name like '%{}%' -- e.g. Put*, Delete*",
                        title_case(d.res).replace(' ', "")
                    ),
                    "  and error_code is null".into(),
                    "order by".into(),
                    "  tp_timestamp desc;".into(),
                ];
                heredoc(&mut w, 2, "sql", "EOQ", &lines)?;
                writeln!(w)?;
                writeln!(
                    w,
                    "  tags = merge(local.aws_common_tags, {{ mitre_attack_ids = \"TA0005:T1562\" }})"
                )?;
                writeln!(w, "}}")?;
            }
            self.close(w)?;
        }
        let mut w = self.open("detections/benchmarks.pp")?;
        for (k, b) in p.detection_benchmarks.iter().enumerate() {
            if k > 0 {
                writeln!(w)?;
            }
            self.count("detection_benchmark");
            writeln!(w, "detection_benchmark \"{}\" {{", b.name)?;
            writeln!(w, "  title       = \"Activity Detections {k}\"")?;
            writeln!(
                w,
                "  description = \"Detections for suspicious API activity.\""
            )?;
            writeln!(w, "  type        = \"detection\"")?;
            ref_list(&mut w, 2, "children", &b.children)?;
            writeln!(w)?;
            writeln!(
                w,
                "  tags = {{ type = \"Benchmark\", \"service\" = \"AWS/CloudTrail\" }}"
            )?;
            writeln!(w, "}}")?;
        }
        self.close(w)
    }
}

/// A component of service `svc` when there is one, else any.
fn pick_near<'a>(rng: &mut Rng, comps: &'a [Comp], svc: usize) -> &'a Comp {
    let same: Vec<&Comp> = comps.iter().filter(|c| c.svc == svc).collect();
    if same.is_empty() {
        rng.pick(comps)
    } else {
        same[rng.below(same.len())]
    }
}

/// The SQL of a graph's `with` block: the ARNs of related resources.
fn with_sql(svc: &Svc, res: &str, arn: bool) -> Vec<String> {
    let mut l: Vec<String> = vec![
        "select".into(),
        "  r.arn as arn".into(),
        "from".into(),
        format!("  {} as r", table_name(svc, res)),
        "  left join aws_iam_policy as pol on pol.arn = any(r.policy_arns) -- may be { }".into(),
    ];
    if arn {
        l.push("where".into());
        l.push("  r.arn = $1".into());
        l.push("  or r.parent_arn = $1;".into());
    }
    l
}

/// What the dashboard writers share while emitting one dashboard.
struct DashCtx<'a> {
    p: &'a Plan,
    d: &'a Dash,
    svc: &'static Svc,
    input: Option<String>,
    queries: Vec<&'a DashQuery>,
    budget: isize,
    labels: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use hcl::{Expression, TraversalOperator};
    use std::collections::{BTreeMap, BTreeSet};

    /// A scratch directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("modlens-gen-{}-{tag}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            Self(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// Every file under `root`, as (relative path, contents), sorted by path.
    fn walk(root: &Path) -> io::Result<BTreeMap<String, Vec<u8>>> {
        let mut out = BTreeMap::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(&dir)? {
                let path = entry?.path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let rel = path
                        .strip_prefix(root)
                        .map_err(io::Error::other)?
                        .to_string_lossy()
                        .replace('\\', "/");
                    out.insert(rel, fs::read(&path)?);
                }
            }
        }
        Ok(out)
    }

    /// What the parsed mod declares and references.
    #[derive(Default)]
    struct Model {
        /// (block type, name) of every top-level labelled block.
        resources: BTreeSet<(String, String)>,
        by_type: BTreeMap<String, usize>,
        locals: BTreeSet<String>,
        /// Every `root.name...` traversal outside templates, with its file.
        refs: Vec<(String, Vec<String>)>,
        /// `children` of every benchmark-like block, by "type.name".
        children: BTreeMap<String, Vec<String>>,
        /// `local.x` / `var.x` names mentioned anywhere (templates included), with the file.
        text_refs: Vec<(String, String, String)>,
        /// Nested blocks (at any depth) of every dashboard.
        dashboard_blocks: Vec<(String, usize)>,
        /// The deepest nesting of blocks inside any dashboard.
        dashboard_depth: usize,
    }

    fn count_blocks(body: &hcl::Body) -> usize {
        body.blocks().map(|b| 1 + count_blocks(b.body())).sum()
    }

    fn block_depth(body: &hcl::Body) -> usize {
        body.blocks()
            .map(|b| 1 + block_depth(b.body()))
            .max()
            .unwrap_or(0)
    }

    fn traversal_path(expr: &Expression) -> Option<Vec<String>> {
        let Expression::Traversal(t) = expr else {
            return None;
        };
        let Expression::Variable(root) = &t.expr else {
            return None;
        };
        let mut path = vec![root.to_string()];
        for op in &t.operators {
            match op {
                TraversalOperator::GetAttr(id) => path.push(id.to_string()),
                _ => break,
            }
        }
        Some(path)
    }

    fn visit(expr: &Expression, file: &str, out: &mut Vec<(String, Vec<String>)>) {
        if let Some(path) = traversal_path(expr) {
            out.push((file.to_string(), path));
        }
        match expr {
            Expression::Array(items) => items.iter().for_each(|e| visit(e, file, out)),
            Expression::Object(obj) => obj.values().for_each(|e| visit(e, file, out)),
            Expression::FuncCall(f) => f.args.iter().for_each(|e| visit(e, file, out)),
            Expression::Parenthesis(e) => visit(e, file, out),
            _ => {}
        }
    }

    fn visit_body(body: &hcl::Body, file: &str, out: &mut Vec<(String, Vec<String>)>) {
        for attr in body.attributes() {
            visit(attr.expr(), file, out);
        }
        for block in body.blocks() {
            visit_body(block.body(), file, out);
        }
    }

    /// Names following `prefix` (e.g. `local.`) in `text`, skipping longer words ending in it.
    fn scan_names(text: &str, prefix: &str) -> Vec<String> {
        let bytes = text.as_bytes();
        let mut names = Vec::new();
        let mut from = 0;
        while let Some(pos) = text[from..].find(prefix) {
            let start = from + pos;
            from = start + prefix.len();
            if start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
                continue;
            }
            let end = text[from..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                .map_or(text.len(), |e| from + e);
            names.push(text[from..end].to_string());
        }
        names
    }

    /// Parses every `.pp` / `.ppvars` file with hcl-rs; panics on the first that fails.
    fn parse_mod(files: &BTreeMap<String, Vec<u8>>) -> Model {
        let mut m = Model::default();
        for (rel, bytes) in files {
            if !(rel.ends_with(".pp") || rel.ends_with(".ppvars")) {
                continue;
            }
            let text = std::str::from_utf8(bytes).expect("generated files are UTF-8");
            let body = hcl::parse(text).unwrap_or_else(|e| panic!("{rel} does not parse: {e}"));
            for name in scan_names(text, "local.") {
                m.text_refs.push((rel.clone(), "local".into(), name));
            }
            for name in scan_names(text, "var.") {
                m.text_refs.push((rel.clone(), "var".into(), name));
            }
            for block in body.blocks() {
                let ty = block.identifier().to_string();
                if ty == "locals" {
                    m.locals
                        .extend(block.body().attributes().map(|a| a.key().to_string()));
                    continue;
                }
                let Some(label) = block.labels().first() else {
                    continue;
                };
                let name = label.as_str().to_string();
                assert!(
                    m.resources.insert((ty.clone(), name.clone())),
                    "duplicate {ty}.{name} in {rel}"
                );
                *m.by_type.entry(ty.clone()).or_insert(0) += 1;
                if ty == "dashboard" {
                    m.dashboard_blocks
                        .push((name.clone(), count_blocks(block.body())));
                    m.dashboard_depth = m.dashboard_depth.max(block_depth(block.body()));
                }
                if let Some(children) = block.body().attributes().find(|a| a.key() == "children") {
                    let Expression::Array(items) = children.expr() else {
                        panic!("{ty}.{name}: children is not a list")
                    };
                    let refs = items
                        .iter()
                        .map(|e| traversal_path(e).expect("child is a traversal").join("."))
                        .collect();
                    m.children.insert(format!("{ty}.{name}"), refs);
                }
            }
            visit_body(&body, rel, &mut m.refs);
        }
        m
    }

    const RESOURCE_TYPES: &[&str] = &[
        "benchmark",
        "control",
        "query",
        "dashboard",
        "node",
        "edge",
        "card",
        "graph",
        "detection",
        "detection_benchmark",
    ];

    /// Checks every reference resolves, the benchmark tree is well formed and dashboards are
    /// as deep as documented.
    fn check_model(m: &Model) {
        for (name, blocks) in &m.dashboard_blocks {
            assert!(
                (10..=40).contains(blocks),
                "dashboard {name} has {blocks} nested blocks"
            );
        }
        let has = |ty: &str, name: &str| m.resources.contains(&(ty.to_string(), name.to_string()));
        for (file, path) in &m.refs {
            let root = path[0].as_str();
            if RESOURCE_TYPES.contains(&root) {
                assert!(
                    path.len() >= 2 && has(root, &path[1]),
                    "{file}: dangling {}",
                    path.join(".")
                );
            } else if root == "var" {
                assert!(
                    has("variable", &path[1]),
                    "{file}: unknown {}",
                    path.join(".")
                );
            } else if root == "local" {
                assert!(
                    m.locals.contains(&path[1]),
                    "{file}: unknown {}",
                    path.join(".")
                );
            }
        }
        for (file, kind, name) in &m.text_refs {
            if kind == "var" {
                assert!(has("variable", name), "{file}: unknown var.{name}");
            } else {
                assert!(m.locals.contains(name), "{file}: unknown local.{name}");
            }
        }

        // Every control is the child of exactly one benchmark, and reachable from all_controls.
        let mut parents: BTreeMap<&str, usize> = BTreeMap::new();
        for refs in m.children.values() {
            for r in refs {
                let (ty, name) = r.split_once('.').expect("type.name");
                assert!(has(ty, name), "dangling child {r}");
                *parents.entry(r.as_str()).or_insert(0) += 1;
            }
        }
        let controls: Vec<String> = m
            .resources
            .iter()
            .filter(|(ty, _)| ty == "control")
            .map(|(_, n)| format!("control.{n}"))
            .collect();
        for c in &controls {
            assert_eq!(
                parents.get(c.as_str()),
                Some(&1),
                "{c} must have exactly one parent"
            );
        }
        let mut depth_of: BTreeMap<String, usize> = BTreeMap::new();
        let mut frontier = vec![("benchmark.all_controls".to_string(), 1)];
        while let Some((node, depth)) = frontier.pop() {
            assert!(
                depth_of.insert(node.clone(), depth).is_none(),
                "{node} reached twice"
            );
            for child in m.children.get(&node).into_iter().flatten() {
                frontier.push((child.clone(), depth + 1));
            }
        }
        for c in &controls {
            assert!(
                depth_of.contains_key(c),
                "{c} unreachable from all_controls"
            );
        }
        let max_bench = depth_of
            .iter()
            .filter(|(k, _)| k.starts_with("benchmark."))
            .map(|(_, d)| *d)
            .max()
            .unwrap_or(0);
        assert!(max_bench <= 5, "benchmarks nest {max_bench} deep");
    }

    fn run(
        size: f64,
        seed: u64,
        tag: &str,
    ) -> io::Result<(TempDir, GenerateReport, BTreeMap<String, Vec<u8>>)> {
        let dir = TempDir::new(tag);
        let report = generate(&GenerateOptions { size, seed }, &dir.0)?;
        let files = walk(&dir.0)?;
        Ok((dir, report, files))
    }

    /// Generates `size`, checks the report against the disk, parses and resolves everything.
    fn check_size(size: f64, tag: &str) -> io::Result<()> {
        check_generated(size, 7, tag, true)
    }

    fn check_generated(size: f64, seed: u64, tag: &str, near_target: bool) -> io::Result<()> {
        let (_dir, report, files) = run(size, seed, tag)?;
        assert_eq!(report.files, files.len());
        assert_eq!(
            report.bytes,
            files.values().map(|b| b.len() as u64).sum::<u64>()
        );
        let m = parse_mod(&files);
        assert_eq!(report.resources, m.resources.len());
        assert_eq!(report.resources_by_type, m.by_type);
        let target = size * 1000.0;
        let got = report.resources as f64;
        assert!(
            !near_target || (got - target).abs() <= target * 0.1,
            "{got} resources for size {size}"
        );
        check_model(&m);
        Ok(())
    }

    #[test]
    fn size_0_05_parses_and_resolves() -> io::Result<()> {
        check_size(0.05, "s005")
    }

    #[test]
    fn size_1_parses_and_resolves() -> io::Result<()> {
        check_size(1.0, "s1")
    }

    #[test]
    fn other_sizes_and_seeds_resolve() -> io::Result<()> {
        for (i, size) in [0.001, 0.02, 0.07, 0.13, 0.4].into_iter().enumerate() {
            for seed in [0, 1, u64::MAX] {
                check_generated(size, seed, &format!("many-{i}-{seed}"), size >= 0.05)?;
            }
        }
        Ok(())
    }

    #[test]
    #[ignore = "slow in debug builds; run with --ignored"]
    fn size_10_parses_and_resolves() -> io::Result<()> {
        check_size(10.0, "s10")
    }

    #[test]
    fn size_1_has_the_documented_shape() -> io::Result<()> {
        let (_dir, report, files) = run(1.0, 3, "shape")?;
        let depth = parse_mod(&files).dashboard_depth;
        assert!((4..=6).contains(&depth), "dashboards nest {depth} deep");
        let by = |t: &str| report.resources_by_type.get(t).copied().unwrap_or(0);
        let total = report.resources as f64;
        assert!((0.50..0.60).contains(&(by("control") as f64 / total)));
        assert!((0.22..0.28).contains(&(by("query") as f64 / total)));
        assert!((0.09..0.11).contains(&(by("benchmark") as f64 / total)));
        assert!(by("dashboard") >= 25);
        assert!(by("variable") >= 7 && by("detection") >= 2 && by("detection_benchmark") >= 1);
        for t in ["card", "graph", "node", "edge"] {
            assert!(by(t) >= 1, "no {t}");
        }
        let per_resource = report.bytes as f64 / total;
        assert!(
            (600.0..1100.0).contains(&per_resource),
            "{per_resource} bytes per resource"
        );
        let pp = files.keys().filter(|k| k.ends_with(".pp")).count();
        let per_file = total / pp as f64;
        assert!(
            (5.0..11.0).contains(&per_file),
            "{per_file} resources per file"
        );
        for needle in [
            "powerpipe.ppvars",
            "generated.auto.ppvars",
            "mod.pp",
            "variables.pp",
            "locals.pp",
        ] {
            assert!(files.contains_key(needle), "missing {needle}");
        }
        assert!(files.keys().any(|k| k.starts_with("docs/")));
        let all: String = files
            .values()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect();
        for needle in [
            "%{ if var.enable_strict_checks }",
            "${local.tag_dimensions_sql}",
            "title       = benchmark.",
            "documentation = file(\"./docs/",
            "args = {",
            "param \"",
            "description = <<-EOT",
            "# commented out: control",
            "/* benchmark \"legacy_",
            "self.input.",
            "rows[*].arn",
            "base = node.",
            "'*/*'",
            "-> 'Statement' @> '[",
            "#>> '{",
        ] {
            assert!(all.contains(needle), "no {needle:?} anywhere");
        }
        Ok(())
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() -> io::Result<()> {
        let (_a, ra, fa) = run(0.3, 11, "det-a")?;
        let (_b, rb, fb) = run(0.3, 11, "det-b")?;
        assert_eq!(ra, rb);
        assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
        for (k, v) in &fa {
            assert!(fb.get(k) == Some(v), "{k} differs between runs");
        }
        let (_c, _, fc) = run(0.3, 12, "det-c")?;
        assert_ne!(fa, fc);
        Ok(())
    }

    #[test]
    fn refuses_non_empty_dir_and_bad_size() -> io::Result<()> {
        let dir = TempDir::new("busy");
        fs::create_dir_all(&dir.0)?;
        fs::write(dir.0.join("keep.txt"), "x")?;
        let err = generate(
            &GenerateOptions {
                size: 0.05,
                seed: 1,
            },
            &dir.0,
        )
        .map(|_| ());
        assert_eq!(err.map_err(|e| e.kind()), Err(io::ErrorKind::AlreadyExists));
        let file = dir.0.join("keep.txt");
        let err = generate(
            &GenerateOptions {
                size: 0.05,
                seed: 1,
            },
            &file,
        )
        .map(|_| ());
        assert_eq!(err.map_err(|e| e.kind()), Err(io::ErrorKind::AlreadyExists));
        for size in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let err = generate(&GenerateOptions { size, seed: 1 }, &dir.0.join("new")).map(|_| ());
            assert_eq!(err.map_err(|e| e.kind()), Err(io::ErrorKind::InvalidInput));
        }
        // An empty existing directory is fine.
        let empty = dir.0.join("empty");
        fs::create_dir_all(&empty)?;
        let report = generate(
            &GenerateOptions {
                size: 0.05,
                seed: 1,
            },
            &empty,
        )?;
        assert!(report.resources > 0);
        Ok(())
    }

    #[test]
    fn counts_are_exact_and_proportional() {
        for size in [0.05, 0.1, 0.5, 1.0, 10.0, 100.0] {
            let c = Counts::for_size(size);
            let total = 1
                + c.controls
                + c.queries
                + c.benchmarks
                + c.dashboards
                + c.nodes
                + c.edges
                + c.cards
                + c.graphs
                + c.detections
                + c.detection_benchmarks
                + c.variables;
            assert_eq!(total, c.target, "size {size}");
        }
    }
}
