//! One module per command: each turns validated arguments into calls of the library crates.

mod data;
mod dry_run;
mod encode;
mod report;
mod reward;
mod score;
mod serve;
mod train;

pub(crate) use train::StoppedForRequeue;

use crate::args::{Cli, Command, DataCommand, GlobalArgs};
use crate::logging::{self, LogSetup};

/// Runs the chosen command.
pub(crate) fn dispatch(cli: Cli) -> anyhow::Result<()> {
    let global = cli.global;
    match cli.command {
        Command::Train(args) => train::train(args, &global),
        Command::Eval(args) => train::eval(args, &global),
        Command::Run(args) => train::run(args, &global),
        command => {
            console_logging(&global)?;
            let quiet = global.quiet;
            match command {
                Command::Score(args) => score::run(args, quiet),
                Command::Encode(args) => encode::run(args),
                Command::Report(args) => report::run(args),
                Command::Rank(args) => reward::rank(args),
                Command::Compare(args) => reward::compare(args),
                Command::CompareConversations(args) => reward::compare_conversations(args),
                Command::RankWithRef(args) => reward::rank_with_ref(args),
                Command::BestOfN(args) => reward::best_of_n(args, false),
                Command::WorstOfN(args) => reward::best_of_n(args, true),
                Command::Serve(args) => serve::run(args),
                Command::Data(DataCommand::Synth(args)) => data::synth(args, quiet),
                Command::Data(DataCommand::Stats(args)) => data::stats(args),
                Command::Data(DataCommand::Score(args)) => data::score(args, quiet),
                Command::Data(DataCommand::Convert(args)) => data::convert(args, quiet),
                Command::Data(DataCommand::Prepare(args)) => data::prepare(args, quiet),
                Command::Train(_) | Command::Eval(_) | Command::Run(_) => {
                    unreachable!("handled above")
                }
            }
        }
    }
}

fn console_logging(global: &GlobalArgs) -> anyhow::Result<()> {
    logging::init(LogSetup {
        verbose: global.verbose,
        quiet: global.quiet,
        console_warnings_only: false,
        file: None,
    })
}
