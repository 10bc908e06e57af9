//! The launchers' shared control channel: node 0 hosts the store; every node's launcher is a client.
//!
//! Per attempt `k` (keys under `launch/{k}/`):
//! - **Rank assignment** (torchrun's `_assign_worker_ranks`): each node sets `node/{r}` = its worker count; node 0
//!   waits for all, computes cumulative base ranks, picks a port that is free on its host for the workers'
//!   `MASTER_PORT` (where a PyTorch rank 0 binds its own store, as torchrun's c10d rendezvous does), and sets
//!   `assigned/{r}` = `base world port`; each node reads its own key. The wait error names the nodes that did not
//!   join.
//! - **Failure**: the first failure is `compare_set` into `failed` ([`ranker_dist::failure`]); a watcher thread per
//!   node blocks on that key and turns it into an event. Non-zero nodes register a store "last will" that publishes
//!   a failure if their launcher's connection drops (the node died).
//! - **Exit**: each node sets `done/{r}`; node 0 keeps the store up until every node is done (bounded).

use std::net::TcpListener;
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use ranker_dist::failure::{self, FailureRecord};
use ranker_dist::{DistError, StoreClient, StoreServer};

use crate::plan::{AttemptRanks, SupervisePlan};
use crate::supervisor::Event;

/// Bound on ordinary control-plane calls.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// How long node 0 keeps the store up for slower nodes after its own workers finished.
const EXIT_BARRIER: Duration = Duration::from_secs(60);

/// A port that is free on every interface of this host now (bound to port 0, then released; the kernel does not hand the same ephemeral
/// port out again at once). This is how torchrun's rank-0 agent picks `MASTER_PORT` (`get_free_port`); the worker
/// that binds it is a process `launch` does not control, so no listener can be passed down.
fn free_port() -> Result<u16> {
    let listener =
        TcpListener::bind(("0.0.0.0", 0)).context("finding a free port for MASTER_PORT")?;
    Ok(listener.local_addr()?.port())
}

/// Parses an `assigned/{r}` value, `base world port`.
fn parse_assigned(text: &str) -> Option<AttemptRanks> {
    let mut fields = text.split(' ');
    let ranks = AttemptRanks {
        base: fields.next()?.parse().ok()?,
        world: fields.next()?.parse().ok()?,
        torch_port: fields.next()?.parse().ok()?,
    };
    fields.next().is_none().then_some(ranks)
}

/// This node's end of the control channel.
pub struct Rendezvous {
    server: Option<StoreServer>,
    client: StoreClient,
    port: u16,
    node_rank: usize,
    nnodes: usize,
    host: String,
    addr: String,
    token: String,
}

/// Watches one attempt's failure key on its own connection.
pub struct FailureWatcher {
    client: Arc<StoreClient>,
    thread: Option<thread::JoinHandle<()>>,
}

impl FailureWatcher {
    /// Stops watching (unblocks the thread).
    pub fn stop(mut self) {
        self.client.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Rendezvous {
    /// Binds the store (node 0) and connects to it. `on_refused` reports wrong-token connections.
    pub fn start(
        plan: &SupervisePlan,
        on_refused: ranker_dist::store::RefusalHook,
    ) -> Result<Rendezvous> {
        let server = match &plan.store.bind {
            Some(bind) => {
                let listener = TcpListener::bind(bind)
                    .with_context(|| format!("binding the rendezvous store on {bind}"))?;
                Some(StoreServer::from_listener(
                    listener,
                    &plan.token,
                    Some(on_refused),
                )?)
            }
            None => None,
        };
        let port = match (&server, plan.store.port) {
            (Some(s), _) => s.local_addr().port(),
            (None, Some(p)) => p,
            (None, None) => bail!(
                "no store port: node {} must be given --master-port",
                plan.node_rank
            ),
        };
        let addr = if plan.store.host.contains(':') {
            format!("[{}]:{port}", plan.store.host)
        } else {
            format!("{}:{port}", plan.store.host)
        };
        let client = StoreClient::connect(&addr, &plan.token, plan.rdzv_timeout)
            .with_context(|| format!("node {} joining the rendezvous", plan.node_rank))?;
        Ok(Rendezvous {
            server,
            client,
            port,
            node_rank: plan.node_rank,
            nnodes: plan.nnodes,
            host: plan.host.clone(),
            addr,
            token: plan.token.clone(),
        })
    }

    /// The store's port (workers get it as `MASTER_PORT`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Assigns global ranks and the workers' `MASTER_PORT` for `attempt`.
    pub fn assign_ranks(
        &self,
        attempt: u32,
        nproc: usize,
        timeout: Duration,
    ) -> Result<AttemptRanks> {
        let p = format!("launch/{attempt}");
        let mine = format!("{p}/node/{}", self.node_rank);
        let stored =
            self.client
                .compare_set(&mine, None, format!("{nproc} {}", self.host).as_bytes())?;
        if stored != format!("{nproc} {}", self.host).as_bytes() {
            bail!(
                "node rank {} is taken by {:?} in attempt {attempt}: two launchers were given the same --node-rank",
                self.node_rank,
                String::from_utf8_lossy(&stored)
            );
        }
        if self.node_rank == 0 {
            let keys: Vec<String> = (0..self.nnodes).map(|r| format!("{p}/node/{r}")).collect();
            let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
            match self.client.wait(&refs, timeout) {
                Ok(()) => {}
                Err(DistError::StoreTimeout { missing, .. }) => {
                    let nodes: Vec<&str> = missing
                        .iter()
                        .filter_map(|k| k.rsplit('/').next())
                        .collect();
                    bail!(
                        "rendezvous: {}/{} nodes joined within {:.0}s; missing node ranks [{}]",
                        self.nnodes - missing.len(),
                        self.nnodes,
                        timeout.as_secs_f64(),
                        nodes.join(", ")
                    );
                }
                Err(e) => return Err(e.into()),
            }
            let mut sizes = Vec::with_capacity(self.nnodes);
            for key in &keys {
                let v = self.client.get(key)?;
                let text = String::from_utf8_lossy(&v);
                let n: usize = text
                    .split(' ')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .with_context(|| {
                        format!("store key {key:?}: {text:?} is not \"nproc host\"")
                    })?;
                sizes.push(n);
            }
            let world: usize = sizes.iter().sum();
            let torch_port = free_port()?;
            let mut base = 0;
            for (r, n) in sizes.iter().enumerate() {
                self.client.set(
                    &format!("{p}/assigned/{r}"),
                    format!("{base} {world} {torch_port}").as_bytes(),
                )?;
                base += n;
            }
        }
        let key = format!("{p}/assigned/{}", self.node_rank);
        let v = self
            .client
            .get_timeout(&key, timeout + CALL_TIMEOUT)
            .context("waiting for node 0 to assign ranks")?;
        let text = String::from_utf8_lossy(&v).into_owned();
        parse_assigned(&text)
            .with_context(|| format!("store key {key:?}: {text:?} is not \"base world port\""))
    }

    /// Starts the failure watcher of `attempt`, and (non-zero nodes) the last will that reports this node's death.
    pub fn watch(&self, attempt: u32, tx: Sender<Event>) -> Result<FailureWatcher> {
        if self.node_rank != 0 {
            let will = FailureRecord {
                rank: None,
                node: self.node_rank,
                host: self.host.clone(),
                pid: Some(std::process::id()),
                exit: "launcher lost".into(),
                reason: format!(
                    "the launcher of node {} disconnected from the store",
                    self.node_rank
                ),
            };
            self.client
                .set_will(&failure::failed_key(attempt), &will.encode())?;
        }
        let client = Arc::new(StoreClient::connect(&self.addr, &self.token, CALL_TIMEOUT)?);
        let watcher = Arc::clone(&client);
        let thread = thread::Builder::new()
            .name("failure-watch".into())
            .spawn(move || loop {
                match failure::wait_failure(&watcher, attempt, Duration::from_secs(3600)) {
                    Ok(Some(record)) => {
                        let _ = tx.send(Event::RemoteFailure(record));
                        return;
                    }
                    Ok(None) => continue,
                    Err(e) => {
                        let _ = tx.send(Event::StoreLost(e.to_string()));
                        return;
                    }
                }
            })?;
        Ok(FailureWatcher {
            client,
            thread: Some(thread),
        })
    }

    /// Publishes a local failure; returns the root cause now stored (ours or an earlier one).
    pub fn publish_failure(&self, attempt: u32, record: &FailureRecord) -> Result<FailureRecord> {
        Ok(failure::publish_failure(&self.client, attempt, record)?)
    }

    /// Ends an attempt: clears the last will. On success, marks this node done and (node 0) waits for the others.
    pub fn finish(&self, attempt: u32, success: bool) -> Result<()> {
        if self.node_rank != 0 {
            self.client.clear_will()?;
        }
        if !success {
            return Ok(());
        }
        let p = format!("launch/{attempt}/done");
        self.client.set(&format!("{p}/{}", self.node_rank), b"1")?;
        if self.node_rank == 0 && self.server.is_some() {
            let keys: Vec<String> = (0..self.nnodes).map(|r| format!("{p}/{r}")).collect();
            let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
            if let Err(DistError::StoreTimeout { missing, .. }) =
                self.client.wait(&refs, EXIT_BARRIER)
            {
                bail!(
                    "exit barrier: nodes {missing:?} did not finish within {}s",
                    EXIT_BARRIER.as_secs()
                );
            }
        }
        Ok(())
    }
}
