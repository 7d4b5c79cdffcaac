//! `rmqsim list`: the built-in scenarios.

use clap::Args;
use rmqsim_core::scenario::{library, Scenario};

use crate::exit::Failure;

#[derive(Args)]
pub struct ListArgs {
    /// Print JSON instead of a table
    #[arg(long)]
    json: bool,
    /// Titles in Chinese
    #[arg(long)]
    zh: bool,
}

pub fn list(args: &ListArgs) -> Result<(), Failure> {
    let mut rows = Vec::new();
    for (id, text) in library::SCENARIOS {
        let scenario =
            Scenario::parse(id, text).map_err(|e| Failure::new(crate::exit::INVALID_SCENARIO, e.to_string()))?;
        let narrative = if args.zh { &scenario.narrative.zh } else { &scenario.narrative.en };
        rows.push((scenario.id.clone(), narrative.title.clone(), scenario.run_for.clone()));
    }
    if args.json {
        let json: Vec<_> = rows
            .iter()
            .map(|(id, title, run_for)| serde_json::json!({"id": id, "title": title, "run_for": run_for}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&json).expect("plain JSON"));
    } else {
        let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
        for (id, title, run_for) in rows {
            println!("{id:width$}  {run_for:>6}  {title}");
        }
    }
    Ok(())
}
