//! Memory under sustained load: 2 threads record spans as fast as they can (each unit is
//! a root span with 3 children) while the pipeline runs with its defaults (drain every
//! 1 s) and a sink that discards. Prints the resident set size every second and the
//! final counts.
//!
//! ```sh
//! cargo run --release -p telem-benches --bin memory -- [SECONDS] [--max-rss-mib N]
//! cargo run --release -p telem-benches --features peers --bin memory -- [SECONDS] --fastrace
//! cargo run --release -p telem-benches --bin memory -- [SECONDS] --logs
//! ```
//!
//! `--logs`: a log storm instead: the 2 threads make `info` records (a formatted message
//! and 3 fields) as fast as they can, written as JSON lines by the stdout sink into
//! `io::sink()`; the final line checks, per level, recorded == exported + dropped.
//!
//! `SECONDS` defaults to 30. `--fastrace` does the same with fastrace (root span, 3 local
//! spans inside it, a reporter that discards, `Config::default()`). Recording stops early
//! if RSS passes `--max-rss-mib` (default 2048).
#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Recording threads.
const THREADS: usize = 2;
/// Child spans in each root.
const CHILDREN: u64 = 3;

/// What the command line asked for.
struct Args {
    seconds: u64,
    fastrace: bool,
    logs: bool,
    max_rss: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        seconds: 30,
        fastrace: false,
        logs: false,
        max_rss: 2048 << 20,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--fastrace" => args.fastrace = true,
            "--logs" => args.logs = true,
            "--max-rss-mib" => {
                let v = it.next().ok_or("--max-rss-mib needs a value")?;
                let mib: u64 = v.parse().map_err(|_| format!("bad --max-rss-mib {v}"))?;
                args.max_rss = mib << 20;
            }
            s => args.seconds = s.parse().map_err(|_| format!("unknown argument {s}"))?,
        }
    }
    Ok(args)
}

/// Resident set size of this process in bytes, from `/proc/self/statm` (its second
/// field, in pages; 4 KiB pages assumed, as on x86-64 and most aarch64 Linux).
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

/// Starts [`THREADS`] threads calling `unit` until `stop`; each adds what `unit`
/// returns (spans started) to the shared count.
fn start_recorders(
    stop: &Arc<AtomicBool>,
    started: &Arc<AtomicU64>,
    unit: fn() -> u64,
) -> Vec<std::thread::JoinHandle<()>> {
    (0..THREADS)
        .map(|_| {
            let (stop, started) = (stop.clone(), started.clone());
            std::thread::spawn(move || {
                while !stop.load(Relaxed) {
                    let mut n = 0;
                    for _ in 0..256 {
                        n += unit();
                    }
                    started.fetch_add(n, Relaxed);
                }
            })
        })
        .collect()
}

/// Prints RSS once a second (with `line()` appended) for `args.seconds`, or until RSS
/// passes the limit. Returns the peak RSS.
async fn watch(args: &Args, mut line: impl FnMut() -> String) -> u64 {
    let begin = Instant::now();
    let mut peak = 0;
    for second in 1..=args.seconds {
        tokio::time::sleep_until((begin + Duration::from_secs(second)).into()).await;
        let rss = rss_bytes();
        peak = peak.max(rss);
        println!("t={second:>3}s rss={:>8.1} MiB {}", mib(rss), line());
        if rss > args.max_rss {
            println!("RSS passed {:.0} MiB: stopping early", mib(args.max_rss));
            break;
        }
    }
    peak
}

static TRACER: telem::Tracer = telem::Tracer::new("memory");

fn ours_unit() -> u64 {
    let _root = TRACER.start_span("root");
    for _ in 0..CHILDREN {
        drop(TRACER.start_span("child"));
    }
    1 + CHILDREN
}

async fn run_ours(args: &Args) {
    let config = telem::Config::new().with_sink(telem_benches::DiscardSink);
    println!(
        "telemetry: {THREADS} threads, root + {CHILDREN} children, ring_capacity {}, drain_interval {:?}, {} s",
        config.ring_capacity(),
        config.drain_interval(),
        args.seconds
    );
    let pipeline = telem::init(config).expect("no other pipeline is running");
    let stop = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicU64::new(0));
    println!("t=  0s rss={:>8.1} MiB", mib(rss_bytes()));
    let threads = start_recorders(&stop, &started, ours_unit);
    let peak = watch(args, || {
        let s = pipeline.stats();
        format!(
            "recorded={} exported={} dropped={} queued={}",
            s.spans_recorded, s.spans_exported, s.spans_dropped, s.spans_queued
        )
    })
    .await;
    stop.store(true, Relaxed);
    for t in threads {
        t.join().expect("recording thread panicked");
    }
    pipeline.shutdown().await;
    let s = pipeline.stats();
    println!(
        "final: started={} recorded={} exported={} dropped={} ({:.1} % dropped) \
         recorded==exported+dropped: {} peak_rss={:.1} MiB",
        started.load(Relaxed),
        s.spans_recorded,
        s.spans_exported,
        s.spans_dropped,
        100.0 * s.spans_dropped as f64 / s.spans_recorded.max(1) as f64,
        s.spans_recorded == s.spans_exported + s.spans_dropped,
        mib(peak)
    );
}

fn log_unit() -> u64 {
    let id = 7u64;
    telem::info!(
        book.id = id,
        user = "alice",
        cached = true,
        "book {id} found"
    );
    1
}

async fn run_logs(args: &Args) {
    let config = telem::Config::new().with_sink(telem::StdoutSink::from_writer(
        std::io::sink(),
        telem::StdoutFormat::Json,
    ));
    println!(
        "telemetry logs: {THREADS} threads, info with 3 fields, log_ring_capacity {}, drain_interval {:?}, {} s",
        config.log_ring_capacity(),
        config.drain_interval(),
        args.seconds
    );
    let pipeline = telem::init(config).expect("no other pipeline is running");
    let stop = Arc::new(AtomicBool::new(false));
    let made = Arc::new(AtomicU64::new(0));
    println!("t=  0s rss={:>8.1} MiB", mib(rss_bytes()));
    let threads = start_recorders(&stop, &made, log_unit);
    let info = telem::Level::Info;
    let peak = watch(args, || {
        let s = pipeline.stats();
        format!(
            "recorded={} exported={} dropped={} queued={}",
            s.logs.recorded(info),
            s.logs.exported(info),
            s.logs.dropped(info),
            s.logs_queued
        )
    })
    .await;
    stop.store(true, Relaxed);
    for t in threads {
        t.join().expect("logging thread panicked");
    }
    pipeline.shutdown().await;
    let s = pipeline.stats();
    let balanced = telem::Level::ALL
        .iter()
        .all(|&l| s.logs.recorded(l) == s.logs.exported(l) + s.logs.dropped(l));
    let sink_dropped: u64 = s.sinks.iter().map(|k| k.logs_dropped).sum();
    println!(
        "final: made={} recorded={} exported={} dropped={} ({:.1} % dropped) sink_dropped={} \
         recorded==exported+dropped (every level): {balanced} peak_rss={:.1} MiB",
        made.load(Relaxed),
        s.logs.recorded(info),
        s.logs.exported(info),
        s.logs.dropped(info),
        100.0 * s.logs.dropped(info) as f64 / s.logs.recorded(info).max(1) as f64,
        sink_dropped,
        mib(peak)
    );
    if !balanced {
        std::process::exit(1);
    }
}

#[cfg(feature = "peers")]
fn fastrace_unit() -> u64 {
    use fastrace::local::LocalSpan;
    let root = fastrace::Span::root("root", fastrace::collector::SpanContext::random());
    let _parent = root.set_local_parent();
    for _ in 0..CHILDREN {
        drop(LocalSpan::enter_with_local_parent("child"));
    }
    1 + CHILDREN
}

#[cfg(feature = "peers")]
async fn run_fastrace(args: &Args) {
    let reporter = telem_benches::DiscardReporter::new();
    fastrace::set_reporter(reporter.clone(), fastrace::collector::Config::default());
    println!(
        "fastrace: {THREADS} threads, root + {CHILDREN} local spans, Config::default(), {} s",
        args.seconds
    );
    let stop = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicU64::new(0));
    println!("t=  0s rss={:>8.1} MiB", mib(rss_bytes()));
    let threads = start_recorders(&stop, &started, fastrace_unit);
    let peak = watch(args, || {
        let (s, r) = (started.load(Relaxed), reporter.reported());
        format!("started={s} reported={r} backlog={}", s.saturating_sub(r))
    })
    .await;
    stop.store(true, Relaxed);
    for t in threads {
        t.join().expect("recording thread panicked");
    }
    fastrace::flush();
    println!(
        "final: started={} reported={} peak_rss={:.1} MiB rss_after_threads_exit={:.1} MiB",
        started.load(Relaxed),
        reporter.reported(),
        mib(peak),
        mib(rss_bytes())
    );
}

#[cfg(not(feature = "peers"))]
async fn run_fastrace(_args: &Args) {
    eprintln!("--fastrace needs the peers: cargo run --release -p telem-benches --features peers --bin memory -- --fastrace");
    std::process::exit(2);
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}\nusage: memory [SECONDS] [--fastrace | --logs] [--max-rss-mib N]");
            std::process::exit(2);
        }
    };
    let rt = telem_benches::runtime();
    rt.block_on(async {
        if args.fastrace {
            run_fastrace(&args).await;
        } else if args.logs {
            run_logs(&args).await;
        } else {
            run_ours(&args).await;
        }
    });
}
