//! Benchmarks of the custody log (issue 3), recorded in docs/PERFORMANCE.md, "Custody log".
//!
//! Run one measurement at a time, in release (`cargo bench` builds with the release profile):
//!
//! ```text
//! cargo bench --bench log -- fsync                       # reference: raw fsync of this disk
//! cargo bench --bench log -- throughput --writers 1,32   # durable appends per second
//! cargo bench --bench log -- latency --rate 1000         # open-loop acknowledgement latency
//! cargo bench --bench log -- build --events 1000000      # a large vault, kept for the rest
//! cargo bench --bench log -- audit                       # times the real `custos audit --json`
//! cargo bench --bench log -- audit-parts                 # the audit's phases timed one by one
//! cargo bench --bench log -- item-lookup                 # the per-item chain query, re-prepares
//! cargo bench --bench log -- proof                       # inclusion proofs: library and CLI
//! ```
//!
//! `--help` after the measurement lists its options (sizes, durations, folders).
//!
//! Every append is made exactly as a caller makes it: `vault.sequencer.append(draft)` on a vault
//! opened with `Vault::open`, acknowledged only when its batch is committed with
//! `synchronous=FULL` and covered by a signed checkpoint. Vaults live under `/tmp/custos-bench`
//! (real disk here, not tmpfs, so every fsync is real). Results print as Markdown tables.
#![forbid(unsafe_code)]

use anyhow::{Context, Result, bail, ensure};
use clap::{Parser, Subcommand};
use custos::custody::{EventDraft, SqlNodes};
use custos::db::DB_FILE;
use custos::ids::ItemId;
use custos::vault::{InitOptions, Vault};
use custos_core::Sha256Hash;
use custos_core::event::{Action, Actor, ItemRef};
use custos_core::jcs::Value;
use custos_core::merkle;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The `custos` binary of this build (cargo sets this for benchmarks).
const CUSTOS_BIN: &str = env!("CARGO_BIN_EXE_custos");

/// Benchmarks of the custody log.
#[derive(Debug, Parser)]
#[command(name = "log")]
struct Args {
    /// The measurement. Without one, nothing runs: `cargo bench` and `cargo test --benches`
    /// (which run this binary without arguments) never start a long measurement by accident.
    #[command(subcommand)]
    which: Option<Which>,
    /// Added by `cargo bench`; ignored.
    #[arg(long, global = true, hide = true)]
    bench: bool,
}

#[derive(Debug, Subcommand)]
enum Which {
    /// Reference: latency of `File::sync_all` / `sync_data` after small writes on this disk.
    Fsync {
        /// Calls per kind.
        #[arg(long, default_value_t = 100)]
        n: usize,
        /// Folder on the disk to measure.
        #[arg(long, default_value = "/tmp/custos-bench")]
        dir: PathBuf,
    },
    /// Durable appends per second with W concurrent writers (fresh vault per run).
    Throughput {
        /// Writer counts, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "1,32")]
        writers: Vec<usize>,
        /// Measured seconds per writer count.
        #[arg(long, default_value_t = 10.0)]
        secs: f64,
        /// Unmeasured warm-up seconds before each run.
        #[arg(long, default_value_t = 1.0)]
        warmup: f64,
        /// Parent folder of the vaults.
        #[arg(long, default_value = "/tmp/custos-bench")]
        dir: PathBuf,
    },
    /// Open-loop acknowledgement latency at a fixed offered rate (fresh vault).
    Latency {
        /// Appends scheduled per second, at fixed intervals.
        #[arg(long, default_value_t = 1000)]
        rate: u64,
        /// Measured seconds.
        #[arg(long, default_value_t = 10.0)]
        secs: f64,
        /// Parent folder of the vault.
        #[arg(long, default_value = "/tmp/custos-bench")]
        dir: PathBuf,
    },
    /// Create (or top up) a vault holding EVENTS events, through many concurrent appends.
    Build {
        /// Events the vault should hold.
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
        /// Concurrent writers (the sequencer batches up to 512 per commit).
        #[arg(long, default_value_t = 1024)]
        writers: usize,
        /// The vault folder.
        #[arg(long, default_value = "/tmp/custos-bench/log-1m")]
        dir: PathBuf,
    },
    /// Time the real CLI: `custos --dir DIR audit --json`.
    Audit {
        /// Runs.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// The vault folder (see `build`).
        #[arg(long, default_value = "/tmp/custos-bench/log-1m")]
        dir: PathBuf,
        /// Another `custos` binary (e.g. a copy built before a change) to run alternately with
        /// this build's, reporting both medians and their ratio.
        #[arg(long)]
        baseline: Option<PathBuf>,
    },
    /// Where `custos audit` spends its time: the work of its log pass timed one part at a time
    /// on one thread through the library, then the whole audit in process (a breakdown, not a
    /// replacement for `audit`).
    AuditParts {
        /// The vault folder (see `build`).
        #[arg(long, default_value = "/tmp/custos-bench/log-1m")]
        dir: PathBuf,
    },
    /// The per-item chain lookup of `LogTx::append` as written (SQLite re-prepares it at every
    /// call) and two rewrites, counting re-preparations.
    ItemLookup {
        /// Lookups per variant.
        #[arg(long, default_value_t = 20_000)]
        n: usize,
        /// The vault folder (see `build`).
        #[arg(long, default_value = "/tmp/custos-bench/log-1m")]
        dir: PathBuf,
    },
    /// Inclusion proofs at random indices: `SqlNodes` + `merkle::inclusion_proof`, and the CLI.
    Proof {
        /// Library proofs to time.
        #[arg(long, default_value_t = 10_000)]
        samples: usize,
        /// CLI runs (`custos proof inclusion N`) to time.
        #[arg(long, default_value_t = 20)]
        cli_runs: usize,
        /// The vault folder (see `build`).
        #[arg(long, default_value = "/tmp/custos-bench/log-1m")]
        dir: PathBuf,
    },
}

fn main() -> Result<()> {
    let args = Args::parse();
    let Some(which) = args.which else {
        println!(
            "custody log benchmarks: name a measurement, e.g. `cargo bench --bench log -- throughput` (`-- --help` lists them)"
        );
        return Ok(());
    };
    println!("load average before: {}", load_average());
    match which {
        Which::Fsync { n, dir } => fsync(&dir, n)?,
        Which::Throughput {
            writers,
            secs,
            warmup,
            dir,
        } => runtime()?.block_on(throughput(&dir, &writers, secs, warmup))?,
        Which::Latency { rate, secs, dir } => runtime()?.block_on(latency(&dir, rate, secs))?,
        Which::Build {
            events,
            writers,
            dir,
        } => runtime()?.block_on(build(&dir, events, writers))?,
        Which::Audit {
            runs,
            dir,
            baseline,
        } => audit(&dir, runs, baseline.as_deref())?,
        Which::AuditParts { dir } => audit_parts(&dir)?,
        Which::ItemLookup { n, dir } => item_lookup(&dir, n)?,
        Which::Proof {
            samples,
            cli_runs,
            dir,
        } => proof(&dir, samples, cli_runs)?,
    }
    println!("load average after: {}", load_average());
    Ok(())
}

/// The runtime a server would use: one worker per core (2 here).
fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// `/proc/loadavg`'s three averages, to report the load a figure was measured under.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

// ---------------------------------------------------------------------------------------------
// Events and vaults

/// Realistic access events: one examiner, one case, a pool of items (so the per-item chain
/// lookup runs as in production), a stated reason and small details.
struct Drafts {
    items: Vec<ItemRef>,
}

impl Drafts {
    fn new(items: usize) -> Result<Self> {
        let items = (0..items.max(1))
            .map(|_| {
                let mut sha = [0u8; 32];
                getrandom::fill(&mut sha).context("random item hash")?;
                Ok(ItemRef {
                    id: ItemId::random().to_string(),
                    sha256: Sha256Hash(sha),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Drafts { items })
    }

    fn draft(&self, i: u64) -> EventDraft {
        let item = self.items[(i % self.items.len() as u64) as usize].clone();
        EventDraft {
            actor: Actor {
                name: "j.doe".into(),
                role: "examiner".into(),
                auth: "local-config".into(),
            },
            action: Action::Access,
            case: Some("2026-CR-0042".into()),
            item: Some(item),
            reason: Some("review of the acquisition for the examination report".into()),
            details: Value::object(vec![
                ("purpose", Value::String("examination".into())),
                (
                    "range",
                    Value::object(vec![
                        ("start", Value::Int(0)),
                        ("end", Value::Int(1_048_576)),
                    ]),
                ),
            ]),
        }
    }
}

/// A new empty vault at `parent/name`, replacing one left by an earlier run.
fn fresh_vault(parent: &Path, name: &str) -> Result<(PathBuf, Vault)> {
    std::fs::create_dir_all(parent)?;
    let dir = parent.join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    let opts = InitOptions {
        origin: Some("bench.custos.example/log".into()),
        examiner: Some("j.doe".into()),
        ..InitOptions::default()
    };
    Vault::init(&dir, &opts).with_context(|| format!("init {}", dir.display()))?;
    let vault = Vault::open(&dir)?;
    Ok((dir, vault))
}

fn count(vault: &Vault, table: &str) -> Result<u64> {
    let n: i64 = vault
        .connect()?
        .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?;
    Ok(u64::try_from(n)?)
}

/// Percentile `p` (0..=100) of sorted durations, nearest rank.
fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1e3)
}

// ---------------------------------------------------------------------------------------------
// Reference: fsync

fn fsync(dir: &Path, n: usize) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    println!("\n| operation ({n} calls) | p50 ms | mean ms | p99 ms | max ms |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    // Overwriting the same 4 KiB (as a recycled WAL is rewritten) and appending 4 KiB (a growing
    // WAL: the file size changes, so the journal commits metadata too).
    for (label, append, full) in [
        ("overwrite 4 KiB + sync_data (fdatasync)", false, false),
        ("overwrite 4 KiB + sync_all (fsync)", false, true),
        ("append 4 KiB + sync_data (fdatasync)", true, false),
        ("append 4 KiB + sync_all (fsync)", true, true),
    ] {
        let path = dir.join("fsync-probe");
        let _ = std::fs::remove_file(&path);
        let mut f = std::fs::File::create(&path)?;
        f.write_all(&[7u8; 4096])?;
        f.sync_all()?;
        let mut times = Vec::with_capacity(n);
        for _ in 0..n {
            if !append {
                use std::io::Seek;
                f.seek(std::io::SeekFrom::Start(0))?;
            }
            f.write_all(&[9u8; 4096])?;
            let t = Instant::now();
            if full {
                f.sync_all()?;
            } else {
                f.sync_data()?;
            }
            times.push(t.elapsed());
        }
        drop(f);
        std::fs::remove_file(&path)?;
        let mean = times.iter().sum::<Duration>() / times.len().max(1) as u32;
        times.sort();
        println!(
            "| {label} | {} | {} | {} | {} |",
            ms(pct(&times, 50.0)),
            ms(mean),
            ms(pct(&times, 99.0)),
            ms(pct(&times, 100.0))
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 1. Throughput

async fn throughput(parent: &Path, writers: &[usize], secs: f64, warmup: f64) -> Result<()> {
    let mut rows = Vec::new();
    for &w in writers {
        ensure!(w > 0, "writer counts must be positive");
        let (_dir, vault) = fresh_vault(parent, &format!("throughput-{w}"))?;
        let drafts = Arc::new(Drafts::new(1000)?);
        run_writers(&vault, &drafts, w, Duration::from_secs_f64(warmup)).await?;
        let (events0, cps0) = (count(&vault, "events")?, count(&vault, "checkpoints")?);
        let (acked, elapsed, mut lat) =
            run_writers(&vault, &drafts, w, Duration::from_secs_f64(secs)).await?;
        let (events1, cps1) = (count(&vault, "events")?, count(&vault, "checkpoints")?);
        ensure!(
            events1 - events0 == acked,
            "acknowledged {acked} appends but the log grew by {}",
            events1 - events0
        );
        lat.sort();
        let batches = cps1 - cps0;
        rows.push(format!(
            "| {w} | {acked} | {:.2} | {:.0} | {batches} | {:.1} | {} | {} |",
            elapsed.as_secs_f64(),
            acked as f64 / elapsed.as_secs_f64(),
            acked as f64 / batches.max(1) as f64,
            ms(pct(&lat, 50.0)),
            ms(pct(&lat, 99.0)),
        ));
    }
    println!(
        "\n| writers | acknowledged appends | seconds | appends/s | batches (checkpoints) | mean batch | p50 ms | p99 ms |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for r in rows {
        println!("{r}");
    }
    Ok(())
}

/// `w` tasks append in a loop until `dur` has passed; returns acknowledged appends, the time
/// until the last acknowledgement, and each append's latency (closed loop).
async fn run_writers(
    vault: &Vault,
    drafts: &Arc<Drafts>,
    w: usize,
    dur: Duration,
) -> Result<(u64, Duration, Vec<Duration>)> {
    let start = Instant::now();
    let deadline = start + dur;
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(w);
    for _ in 0..w {
        let seq = vault.sequencer.clone();
        let drafts = drafts.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while Instant::now() < deadline {
                let d = drafts.draft(next.fetch_add(1, Ordering::Relaxed));
                let t = Instant::now();
                seq.append(d).await?;
                lat.push(t.elapsed());
            }
            Ok::<_, custos::custody::LogError>(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    Ok((all.len() as u64, start.elapsed(), all))
}

// ---------------------------------------------------------------------------------------------
// 2. Latency at a fixed offered load (open loop)

async fn latency(parent: &Path, rate: u64, secs: f64) -> Result<()> {
    ensure!(rate > 0, "rate must be positive");
    let (_dir, vault) = fresh_vault(parent, "latency")?;
    let drafts = Arc::new(Drafts::new(1000)?);
    // Warm the vault (tree state cached, statements prepared) before measuring.
    run_writers(&vault, &drafts, 8, Duration::from_millis(500)).await?;
    let cps0 = count(&vault, "checkpoints")?;
    let n = (rate as f64 * secs).round() as u64;
    let period = Duration::from_secs_f64(1.0 / rate as f64);
    let start = Instant::now() + Duration::from_millis(20);
    let mut tasks = Vec::with_capacity(n as usize);
    let mut late = Vec::with_capacity(n as usize);
    for i in 0..n {
        // Scheduled times are fixed in advance: a slow acknowledgement never delays the next
        // append (no coordinated omission); a late start counts in the latency.
        let at = start + period * u32::try_from(i)?;
        tokio::time::sleep_until(at.into()).await;
        late.push(at.elapsed());
        let seq = vault.sequencer.clone();
        let d = drafts.draft(i);
        tasks.push(tokio::spawn(async move {
            let submitted = Instant::now();
            seq.append(d)
                .await
                .map(|_| (at.elapsed(), submitted.elapsed()))
        }));
    }
    let offered_secs = start.elapsed().as_secs_f64();
    let mut lat = Vec::with_capacity(tasks.len());
    let mut service = Vec::with_capacity(tasks.len());
    for t in tasks {
        let (l, s) = t.await??;
        lat.push(l);
        service.push(s);
    }
    let batches = count(&vault, "checkpoints")? - cps0;
    lat.sort();
    late.sort();
    service.sort();
    println!(
        "\n| offered rate | appends | achieved offer/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | batches | mean batch |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    println!(
        "| {rate}/s | {n} | {:.0} | {} | {} | {} | {} | {} | {batches} | {:.2} |",
        n as f64 / offered_secs,
        ms(pct(&lat, 50.0)),
        ms(pct(&lat, 90.0)),
        ms(pct(&lat, 99.0)),
        ms(pct(&lat, 99.9)),
        ms(pct(&lat, 100.0)),
        n as f64 / batches.max(1) as f64,
    );
    // Where the time goes: the timer wakes the scheduler up to a tick (1 ms) late; the rest is
    // the append itself, from `append` called to acknowledged.
    println!(
        "\nbreakdown: scheduler start late p50 {} / p99 {} ms; append call to acknowledgement p50 {} / p99 {} / max {} ms",
        ms(pct(&late, 50.0)),
        ms(pct(&late, 99.0)),
        ms(pct(&service, 50.0)),
        ms(pct(&service, 99.0)),
        ms(pct(&service, 100.0)),
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Building the large vault for 3. and 4.

async fn build(dir: &Path, events: u64, writers: usize) -> Result<()> {
    ensure!(writers > 0, "writers must be positive");
    if !dir.join("custos.toml").exists() {
        let parent = dir.parent().context("vault folder has no parent")?;
        let name = dir
            .file_name()
            .context("vault folder has no name")?
            .to_string_lossy()
            .into_owned();
        drop(fresh_vault(parent, &name)?);
    }
    let vault = Vault::open(dir)?;
    let have = count(&vault, "events")?;
    if have >= events {
        println!("{} already holds {have} events", dir.display());
        return Ok(());
    }
    let need = events - have;
    let drafts = Arc::new(Drafts::new(10_000)?);
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(writers);
    for _ in 0..writers {
        let seq = vault.sequencer.clone();
        let drafts = drafts.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= need {
                    return Ok::<_, custos::custody::LogError>(());
                }
                seq.append(drafts.draft(i)).await?;
                if i.is_multiple_of(100_000) && i > 0 {
                    eprintln!(
                        "  {} events in {:.0} s",
                        have + i,
                        start.elapsed().as_secs_f64()
                    );
                }
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    let secs = start.elapsed().as_secs_f64();
    let db_bytes = std::fs::metadata(dir.join(DB_FILE))?.len();
    println!(
        "\nbuilt {}: {} events ({need} appended in {secs:.0} s, {:.0}/s with {writers} writers), {} checkpoints, custos.db {:.0} MiB",
        dir.display(),
        count(&vault, "events")?,
        need as f64 / secs,
        count(&vault, "checkpoints")?,
        db_bytes as f64 / 1048576.0
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 3. Audit through the real CLI

/// One timed run of the `custos` binary: wall time, and (`with_time`) user/system CPU seconds and
/// peak RSS from `/usr/bin/time` when it is installed.
struct CliRun {
    wall: Duration,
    cpu: Option<(f64, f64, u64)>,
    stdout: Vec<u8>,
    status: std::process::ExitStatus,
}

fn run_cli(args: &[&str], with_time: bool) -> Result<CliRun> {
    run_cli_with(Path::new(CUSTOS_BIN), args, with_time)
}

/// [`run_cli`] with another `custos` binary.
fn run_cli_with(bin: &Path, args: &[&str], with_time: bool) -> Result<CliRun> {
    let time = Path::new("/usr/bin/time");
    let stats = std::env::temp_dir().join(format!("custos-bench-time-{}", std::process::id()));
    let mut cmd = if with_time && time.exists() {
        let mut c = Command::new(time);
        c.arg("-f").arg("%U %S %M").arg("-o").arg(&stats).arg(bin);
        c
    } else {
        Command::new(bin)
    };
    cmd.args(args);
    let t = Instant::now();
    let out = cmd.output().context("running custos")?;
    let wall = t.elapsed();
    let cpu = std::fs::read_to_string(&stats).ok().and_then(|s| {
        let v: Vec<&str> = s.split_whitespace().collect();
        Some((
            v.first()?.parse().ok()?,
            v.get(1)?.parse().ok()?,
            v.get(2)?.parse().ok()?,
        ))
    });
    let _ = std::fs::remove_file(&stats);
    Ok(CliRun {
        wall,
        cpu,
        stdout: out.stdout,
        status: out.status,
    })
}

fn audit(dir: &Path, runs: usize, baseline: Option<&Path>) -> Result<()> {
    let d = dir.to_string_lossy().into_owned();
    let mut bins = vec![("this build", PathBuf::from(CUSTOS_BIN))];
    if let Some(b) = baseline {
        // Alternate with the baseline, so both see the same machine load; compare the ratio.
        bins.insert(0, ("baseline", b.to_owned()));
    }
    println!("\ncommand: BIN --dir {d} audit --json");
    for (label, bin) in &bins {
        println!("{label}: {}", bin.display());
    }
    println!(
        "\n| run | binary | events | checkpoints | findings | wall s | events/s | user s | sys s | max RSS MiB |"
    );
    println!("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut walls: Vec<Vec<f64>> = vec![Vec::new(); bins.len()];
    for run in 1..=runs {
        for (i, (label, bin)) in bins.iter().enumerate() {
            let r = run_cli_with(bin, &["--dir", &d, "audit", "--json"], true)?;
            let report: serde_json::Value = serde_json::from_slice(&r.stdout)
                .with_context(|| format!("audit printed no JSON report (exit {})", r.status))?;
            let events = report["events"].as_u64().context("report.events")?;
            let checkpoints = report["checkpoints"]
                .as_u64()
                .context("report.checkpoints")?;
            let findings = report["findings"].as_array().map_or(0, Vec::len);
            if !r.status.success() || findings > 0 {
                bail!("audit is not clean (exit {}): {report}", r.status);
            }
            let (user, sys, rss) = r.cpu.map_or(
                ("-".to_string(), "-".to_string(), "-".to_string()),
                |(u, s, m)| {
                    (
                        format!("{u:.2}"),
                        format!("{s:.2}"),
                        format!("{:.0}", m as f64 / 1024.0),
                    )
                },
            );
            let wall = r.wall.as_secs_f64();
            walls[i].push(wall);
            println!(
                "| {run} | {label} | {events} | {checkpoints} | {findings} | {wall:.2} | {:.0} | {user} | {sys} | {rss} |",
                events as f64 / wall,
            );
        }
    }
    let medians: Vec<f64> = walls
        .iter_mut()
        .map(|w| {
            w.sort_by(f64::total_cmp);
            w.get(w.len() / 2).copied().unwrap_or(f64::NAN)
        })
        .collect();
    for ((label, _), m) in bins.iter().zip(&medians) {
        println!("\nmedian wall, {label}: {m:.2} s");
    }
    if let [base, new] = medians[..] {
        println!("baseline / this build: {:.2}x", base / new);
    }
    Ok(())
}

/// Times, one by one and on one thread, the work `audit/log_pass.rs` spreads over its
/// threads (a reader, two verifiers taking alternate chunks of 8,192 events, the checker, and
/// the database check beside them), then the whole audit in process. The one-thread times
/// add up to the CPU the pass needs: on two cores its wall time cannot be under half of it.
fn audit_parts(dir: &Path) -> Result<()> {
    let vault = Vault::open(dir)?;
    let conn = vault.connect()?;
    let verifier = vault.keys.log.verifier();
    let vk = *verifier.verifying_key();
    let mut rows: Vec<(String, Duration)> = Vec::new();
    let mut timed = |label: &str, f: &mut dyn FnMut() -> Result<()>| -> Result<()> {
        let t = Instant::now();
        f()?;
        rows.push((label.to_string(), t.elapsed()));
        Ok(())
    };

    timed("PRAGMA quick_check (audit, own thread)", &mut || {
        let r: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        ensure!(r == "ok", "quick_check: {r}");
        Ok(())
    })?;
    timed(
        "PRAGMA integrity_check (audit --deep, own thread)",
        &mut || {
            let r: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
            ensure!(r == "ok", "integrity_check: {r}");
            Ok(())
        },
    )?;
    let events = count(&vault, "events")?;
    let mut pages = Vec::new();
    timed(
        "reader: events in pages of 8,192 (read_events_page)",
        &mut || {
            let mut from = 0;
            while from < events {
                let page = custos::custody::read_events_page(&conn, from, 8192)?;
                from = page.last().map_or(events, |e| e.seq + 1);
                pages.push(page);
            }
            Ok(())
        },
    )?;
    let mut notes: Vec<(u64, String)> = Vec::new();
    timed("reader: checkpoint notes in size order", &mut || {
        notes = conn
            .prepare("SELECT size, note FROM checkpoints ORDER BY size")?
            .query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(())
    })?;
    timed(
        "verifiers: Event::from_canonical_bytes, each event",
        &mut || {
            for page in &pages {
                for e in page {
                    std::hint::black_box(custos_core::event::Event::from_canonical_bytes(
                        &e.bytes,
                    )?);
                }
            }
            Ok(())
        },
    )?;
    timed(
        "verifiers: event signatures, batches of 1,024 (event::find_bad_signatures)",
        &mut || {
            for page in &pages {
                let pairs: Vec<(&[u8], &[u8])> = page
                    .iter()
                    .map(|e| (e.bytes.as_slice(), e.signature.as_slice()))
                    .collect();
                let bad = custos_core::event::find_bad_signatures(&vk, &pairs);
                ensure!(bad.is_empty(), "bad event signatures: {bad:?}");
            }
            Ok(())
        },
    )?;
    timed(
        "verifiers: checkpoint notes parsed, signatures in batches of 1,024",
        &mut || batch_verify_notes(&notes, &vk),
    )?;
    timed(
        "verifiers + checker: leaf hashes, nodes, the root at every checkpoint size",
        &mut || {
            let mut tree = merkle::Frontier::new();
            let mut cps = notes.iter().map(|(s, _)| *s).peekable();
            for page in &pages {
                for e in page {
                    std::hint::black_box(tree.push(merkle::leaf_hash(&e.bytes)));
                    while cps.next_if_eq(&tree.size()).is_some() {
                        std::hint::black_box(tree.root());
                    }
                }
            }
            Ok(())
        },
    )?;
    drop(pages);
    timed(
        "custos::audit::audit, whole, in process (all threads)",
        &mut || {
            let progress = custos::progress::Progress::hidden();
            let report =
                runtime()?.block_on(custos::audit::audit(&vault, false, false, None, &progress))?;
            ensure!(
                report.findings.is_empty(),
                "audit is not clean: {:?}",
                report.findings
            );
            Ok(())
        },
    )?;

    println!(
        "\n{}: {events} events, {} checkpoints\n",
        dir.display(),
        notes.len()
    );
    println!("| audit phase (library, one run, one thread unless said) | seconds |");
    println!("| --- | ---: |");
    for (label, d) in rows {
        println!("| {label} | {:.2} |", d.as_secs_f64());
    }
    Ok(())
}

/// Parse each note and batch-verify the log key's signatures, 1,024 at a time (as audit/log_pass.rs
/// does); the body is parsed too, as `open_checkpoint` does.
fn batch_verify_notes(notes: &[(u64, String)], vk: &ed25519_dalek::VerifyingKey) -> Result<()> {
    for chunk in notes.chunks(1024) {
        let mut texts = Vec::with_capacity(chunk.len());
        let mut sigs = Vec::with_capacity(chunk.len());
        for (size, note) in chunk {
            let n = custos_core::note::Note::parse(note)?;
            let cp = custos_core::checkpoint::Checkpoint::parse_text(&n.text)?;
            ensure!(cp.size == *size, "checkpoint {size} body size {}", cp.size);
            let sig = n
                .signatures
                .first()
                .context("checkpoint without signature")?;
            sigs.push(ed25519_dalek::Signature::from_slice(&sig.signature)?);
            texts.push(n.text);
        }
        let msgs: Vec<&[u8]> = texts.iter().map(|t| t.as_bytes()).collect();
        let keys = vec![*vk; msgs.len()];
        ed25519_dalek::verify_batch(&msgs, &sigs, &keys)?;
    }
    Ok(())
}

/// Times `n` lookups of an item's last event with each query text (random items, then one
/// item), and counts how often SQLite re-prepared the statement. With the bundled SQLite, a bare
/// `?1` compared with the column of the partial index `events_by_item` makes the plan depend on
/// the bound value, so every new binding re-prepares the statement; `+?1` does not.
fn item_lookup(dir: &Path, n: usize) -> Result<()> {
    let vault = Vault::open(dir)?;
    let conn = vault.connect()?;
    let items: Vec<String> = conn
        .prepare("SELECT DISTINCT item_id FROM events WHERE item_id IS NOT NULL LIMIT 10000")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    ensure!(!items.is_empty(), "the vault has no item events");
    let mut rng = Rng::new()?;
    println!(
        "\n| query ({n} lookups each) | mean µs, random items | mean µs, one item | times re-prepared | query plan |"
    );
    println!("| --- | ---: | ---: | ---: | --- |");
    for sql in [
        "SELECT hash FROM events WHERE item_id = ?1 ORDER BY seq DESC LIMIT 1",
        "SELECT hash FROM events WHERE item_id = ?1 AND item_id IS NOT NULL ORDER BY seq DESC LIMIT 1",
        "SELECT hash FROM events WHERE item_id = +?1 ORDER BY seq DESC LIMIT 1",
    ] {
        let plan: String =
            conn.query_row(&format!("EXPLAIN QUERY PLAN {sql}"), [&items[0]], |r| {
                r.get(3)
            })?;
        conn.prepare_cached(sql)?
            .reset_status(rusqlite::StatementStatus::RePrepare);
        let mut per = Vec::new();
        for same_item in [false, true] {
            let t = Instant::now();
            for _ in 0..n {
                let item = if same_item {
                    &items[0]
                } else {
                    &items[rng.below(items.len() as u64) as usize]
                };
                let h: Vec<u8> = conn.prepare_cached(sql)?.query_row([item], |r| r.get(0))?;
                std::hint::black_box(h);
            }
            per.push((t.elapsed() / n.max(1) as u32).as_secs_f64() * 1e6);
        }
        let reprepared = conn
            .prepare_cached(sql)?
            .get_status(rusqlite::StatementStatus::RePrepare);
        println!(
            "| `{sql}` | {:.1} | {:.1} | {reprepared} | {plan} |",
            per[0], per[1]
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 4. Inclusion proofs

/// A small xorshift generator seeded from the OS: random indices without another dependency.
struct Rng(u64);

impl Rng {
    fn new() -> Result<Self> {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).context("random seed")?;
        Ok(Rng(u64::from_le_bytes(b) | 1))
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

fn proof(dir: &Path, samples: usize, cli_runs: usize) -> Result<()> {
    let vault = Vault::open(dir)?;
    let note = custos::custody::latest_checkpoint(&vault.connect()?)?
        .context("the vault has no checkpoint: run `build` first")?;
    let verifier = vault.keys.log.verifier();
    let (cp, _) = custos_core::checkpoint::open_checkpoint(&note, &verifier)?;
    let size = cp.size;
    let mut rng = Rng::new()?;

    // Library: a fresh connection (its first proof also prepares the statement), then `samples`
    // proofs at random indices; each is verified against the signed root outside the timing.
    let conn = vault.connect()?;
    let nodes = SqlNodes(&conn);
    let mut times = Vec::with_capacity(samples);
    let mut first = None;
    let mut hashes = 0usize;
    for _ in 0..samples.max(1) {
        let index = rng.below(size);
        let t = Instant::now();
        let p = merkle::inclusion_proof(&nodes, index, size)
            .map_err(|e| anyhow::anyhow!("proof of {index}: {e:?}"))?;
        let el = t.elapsed();
        first.get_or_insert(el);
        times.push(el);
        hashes += p.len();
        let leaf: Vec<u8> = conn.query_row(
            "SELECT hash FROM events WHERE seq = ?1",
            [index as i64],
            |r| r.get(0),
        )?;
        let leaf = Sha256Hash(
            leaf.try_into()
                .map_err(|_| anyhow::anyhow!("leaf hash size"))?,
        );
        merkle::verify_inclusion(&leaf, index, size, &p, &cp.root)
            .with_context(|| format!("proof of {index} does not verify"))?;
    }
    let mean = times.iter().sum::<Duration>() / times.len().max(1) as u32;
    times.sort();
    println!(
        "\ntree size {size}; {} proofs, {:.1} hashes each on average, all verified against the signed checkpoint",
        times.len(),
        hashes as f64 / times.len().max(1) as f64
    );
    println!(
        "\n| inclusion proof | first (cold statement) ms | p50 ms | mean ms | p99 ms | max ms |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    println!(
        "| `SqlNodes` + `merkle::inclusion_proof` | {} | {} | {} | {} | {} |",
        ms(first.unwrap_or_default()),
        ms(pct(&times, 50.0)),
        ms(mean),
        ms(pct(&times, 99.0)),
        ms(pct(&times, 100.0)),
    );
    drop(conn);
    drop(vault);

    // In-process costs of what the CLI does before the proof: `Vault::open` (config, keys, two
    // database opens with migration checks, object store, sequencer thread with its own
    // connection) and the extra `connect()` the command makes.
    let mut open_t = Vec::with_capacity(cli_runs);
    let mut connect_t = Vec::with_capacity(cli_runs);
    for _ in 0..cli_runs.max(1) {
        let t = Instant::now();
        let v = Vault::open(dir)?;
        open_t.push(t.elapsed());
        let t = Instant::now();
        let c = v.connect()?;
        connect_t.push(t.elapsed());
        drop(c);
        drop(v);
    }
    open_t.sort();
    connect_t.sort();
    println!(
        "\n| in process ({} runs each) | p50 ms | min ms | max ms |",
        open_t.len()
    );
    println!("| --- | ---: | ---: | ---: |");
    for (label, t) in [
        ("`Vault::open`", &open_t),
        ("`vault.connect()`", &connect_t),
    ] {
        println!(
            "| {label} | {} | {} | {} |",
            ms(pct(t, 50.0)),
            ms(pct(t, 0.0)),
            ms(pct(t, 100.0))
        );
    }

    // CLI: the whole process (start, `Vault::open`, proof, print) against a process-start floor.
    let d = dir.to_string_lossy().into_owned();
    let mut cli = Vec::with_capacity(cli_runs);
    let mut floor = Vec::with_capacity(cli_runs);
    let mut checkpoint = Vec::with_capacity(cli_runs);
    for _ in 0..cli_runs.max(1) {
        let index = rng.below(size).to_string();
        let r = run_cli(&["--dir", &d, "proof", "inclusion", &index], false)?;
        ensure!(r.status.success(), "custos proof inclusion {index} failed");
        cli.push(r.wall);
        let v = run_cli(&["--version"], false)?;
        floor.push(v.wall);
        let c = run_cli(&["--dir", &d, "checkpoint"], false)?;
        ensure!(c.status.success(), "custos checkpoint failed");
        checkpoint.push(c.wall);
    }
    println!(
        "\n| command ({} runs each) | p50 ms | min ms | max ms |",
        cli.len()
    );
    println!("| --- | ---: | ---: | ---: |");
    for (label, mut t) in [
        (
            format!("custos --dir {d} proof inclusion N (random N)"),
            cli,
        ),
        (
            format!("custos --dir {d} checkpoint (Vault::open, one query)"),
            checkpoint,
        ),
        ("custos --version (process start floor)".to_string(), floor),
    ] {
        t.sort();
        println!(
            "| `{label}` | {} | {} | {} |",
            ms(pct(&t, 50.0)),
            ms(pct(&t, 0.0)),
            ms(pct(&t, 100.0))
        );
    }
    Ok(())
}
