//! The connection's own thread, with group commit.
//!
//! Every store call is a job sent to one thread that owns the connection. The thread takes
//! the jobs waiting in its queue (up to [`MAX_GROUP`]), runs them one after another inside one
//! `BEGIN IMMEDIATE ... COMMIT`, and answers each job only after that commit: concurrent
//! callers share one fsync instead of paying one each, and nobody hears "done" before their
//! write is durable. Each job runs in its own savepoint (the store's operations open one), so
//! a job that fails rolls back alone and the others of its group still commit. If the commit
//! itself fails, every job of the group gets the error: none of them happened.

use std::sync::mpsc;

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::error::{Error, Result};

/// The most jobs one transaction takes.
pub(crate) const MAX_GROUP: usize = 64;

/// What a job leaves for after the commit: the answer, given the commit's outcome.
type Reply = Box<dyn FnOnce(Option<&str>) + Send>;
/// A job: runs against the connection inside the group's transaction.
type Job = Box<dyn FnOnce(&mut Connection) -> Reply + Send>;

/// The sending side; the thread stops when every clone of it is dropped.
#[derive(Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the thread that owns `conn`.
    pub(crate) fn spawn(conn: Connection, name: &str) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name(format!("fms-sqlite {name}"))
            .spawn(move || run(conn, queue))?;
        Ok(Self { jobs })
    }

    /// Runs `f` on the connection's thread and waits (asynchronously) for its committed
    /// result.
    pub(crate) async fn call<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel::<Result<T>>();
        let job: Job = Box::new(move |conn: &mut Connection| {
            let result = f(conn);
            Box::new(move |commit_error: Option<&str>| {
                let result = match (result, commit_error) {
                    (Ok(_), Some(e)) => Err(Error::Commit(e.to_owned())),
                    (result, _) => result,
                };
                let _ = answer.send(result);
            })
        });
        self.jobs.send(job).map_err(|_| Error::Closed)?;
        answered.await.map_err(|_| Error::Closed)?
    }
}

fn run(mut conn: Connection, queue: mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let begun = conn.execute_batch("BEGIN IMMEDIATE");
        let mut replies = Vec::with_capacity(group.len());
        for job in group {
            let conn = &mut conn;
            // A panicking job answers nothing (its caller sees the channel close); its
            // savepoint was rolled back while unwinding, the rest of the group goes on.
            if let Ok(reply) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(conn)))
            {
                replies.push(reply);
            }
        }
        let commit_error = match begun {
            Err(e) => Some(e.to_string()),
            Ok(()) => match conn.execute_batch("COMMIT") {
                Ok(()) => None,
                Err(e) => {
                    let _ = conn.execute_batch("ROLLBACK");
                    Some(e.to_string())
                }
            },
        };
        for reply in replies {
            reply(commit_error.as_deref());
        }
    }
}
