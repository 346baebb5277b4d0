//! `stackscope cache list|clear`: the frame cache that stacks larger than RAM are decoded to.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use stackscope::load::cache::{Cache, default_dir};
use stackscope::load::human_bytes;

#[derive(Debug, Args)]
pub struct CacheArgs {
    #[command(subcommand)]
    pub command: CacheCommand,

    /// The frame cache folder (default: $XDG_CACHE_HOME/stackscope/frames).
    #[arg(long = "cache-dir", global = true, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// The entries, least recently used first: source, shape, size on disk, last use.
    List {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove entries (all, or those unused for DAYS days) and what failed loads left.
    Clear {
        /// Only entries not used for this many days.
        #[arg(long, value_name = "DAYS")]
        older_than: Option<f64>,
    },
}

pub fn run(args: &CacheArgs) -> anyhow::Result<()> {
    let cache = Cache::new(args.cache_dir.clone().unwrap_or_else(default_dir), None);
    match &args.command {
        CacheCommand::List { json } => {
            let entries = cache.entries()?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&entries)?);
                return Ok(());
            }
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            for e in &entries {
                let [n, h, w, c] = e.shape;
                let days = now.saturating_sub(e.last_used_secs) as f64 / 86_400.0;
                println!(
                    "{:>10}  {n}×{h}×{w}×{c}  used {days:.1} days ago  {}  ({})",
                    human_bytes(e.bytes),
                    e.source.display(),
                    e.path.display()
                );
            }
            let total: u64 = entries.iter().map(|e| e.bytes).sum();
            println!(
                "{} entries, {} in {}",
                entries.len(),
                human_bytes(total),
                cache.dir().display()
            );
            Ok(())
        }
        CacheCommand::Clear { older_than } => {
            let age = match older_than {
                Some(d) if !(d.is_finite() && *d >= 0.0) => {
                    anyhow::bail!("--older-than {d} must be a number of days, 0 or more")
                }
                Some(d) => Some(Duration::from_secs_f64(d * 86_400.0)),
                None => None,
            };
            let cleared = cache.clear(age)?;
            println!(
                "removed {} entries, {} from {}",
                cleared.entries,
                human_bytes(cleared.bytes),
                cache.dir().display()
            );
            Ok(())
        }
    }
}
