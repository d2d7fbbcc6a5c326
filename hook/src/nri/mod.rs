//! The NRI plugin's life (`oci-seccomp-bpf-hook nri`), beside the runtime wrapper's: one
//! long-lived process per node that registers with the runtime's NRI socket (containerd 2.0+,
//! CRI-O 1.30+ have NRI on by default) and, for each container whose pod asks, adds this hook
//! to its spec as the hooks.d JSON would ([`adjust`]). Nothing in the runtime's configuration
//! changes. The protocol is ours ([`api`], [`mux`], [`rpc`]) on the ttrpc crate: no NRI
//! library for Rust is maintained.
//!
//! When the runtime goes away (restarted, upgraded) the plugin connects again and registers
//! anew; the runtime then synchronises it. While no plugin is connected, containers start as
//! before, untraced; `status` shows the plugin's state ([`crate::node::plugin`]).

pub mod adjust;
pub mod api;
pub mod mux;
pub mod rpc;

use std::{path::PathBuf, sync::Arc, time::Duration};

use tokio::{net::UnixStream, sync::Notify};

use crate::node::plugin::Presence;
use adjust::Injector;

/// Where containerd and CRI-O listen for plugins unless configured otherwise.
pub const DEFAULT_SOCKET: &str = "/var/run/nri/nri.sock";

/// How the plugin runs.
#[derive(Debug, Clone)]
pub struct Options {
    pub socket: PathBuf,
    /// The name it registers under, and its index (the order plugins are called in).
    pub name: String,
    pub index: String,
    pub injector: Injector,
}

#[derive(Debug, thiserror::Error)]
pub enum NriError {
    #[error("cannot connect to the NRI socket {socket}: is NRI enabled in the runtime (containerd 2.0+, CRI-O 1.30+)?")]
    Connect {
        socket: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the runtime did not register the plugin")]
    Register(#[source] ttrpc::Error),
    #[error(
        "registered, but the runtime did not configure the plugin within {0:?}: it may speak an \
         NRI API other than {package} (NRI {version})",
        package = api::PACKAGE,
        version = api::NRI_VERSION
    )]
    NeverConfigured(Duration),
    #[error("cannot serve the plugin's service")]
    Serve(#[source] ttrpc::Error),
    #[error("the connection to the runtime failed")]
    Connection(#[source] std::io::Error),
}

/// How long registration and the runtime's configuration may take.
const REGISTRATION: Duration = Duration::from_secs(5);
/// The wait before connecting again; doubled up to [`RECONNECT_MAX`].
const RECONNECT: Duration = Duration::from_millis(250);
const RECONNECT_MAX: Duration = Duration::from_secs(5);

/// Serves the runtime until this process is stopped, connecting again whenever the runtime
/// goes away; each failure is one line in the log.
pub async fn run(options: &Options, presence: &mut Presence) -> ! {
    let plugin: Arc<dyn rpc::Handler> = Arc::new(Plugin {
        injector: options.injector.clone(),
    });
    let mut wait = RECONNECT;
    loop {
        let socket = options.socket.display();
        presence.set(&format!("connecting to {socket}"));
        match session(options, plugin.clone(), presence).await {
            Ok(()) => {
                log::warn!("the runtime closed the NRI connection; connecting again");
                wait = RECONNECT;
            }
            Err(err) => log::warn!("{}", crate::sys::errors::one_line(&err)),
        }
        presence.set(&format!("waiting for {socket}: containers start untraced"));
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(RECONNECT_MAX);
    }
}

/// One connection: registered, configured, then served until the runtime hangs up.
async fn session(
    options: &Options,
    plugin: Arc<dyn rpc::Handler>,
    presence: &mut Presence,
) -> Result<(), NriError> {
    let stream = UnixStream::connect(&options.socket)
        .await
        .map_err(|source| NriError::Connect {
            socket: options.socket.clone(),
            source,
        })?;
    let split = mux::split(stream);
    let configured = Arc::new(Notify::new());
    let mut server = rpc::serve(split.plugin, plugin, configured.clone())
        .await
        .map_err(NriError::Serve)?;
    let _client = rpc::register(split.runtime, &options.name, &options.index, REGISTRATION)
        .await
        .map_err(NriError::Register)?;
    tokio::time::timeout(REGISTRATION, configured.notified())
        .await
        .map_err(|_| NriError::NeverConfigured(REGISTRATION))?;
    presence.set(&format!("connected to {}", options.socket.display()));
    log::info!(
        "registered with the runtime at {}",
        options.socket.display()
    );
    let ended = split.trunk.await;
    let _ = server.shutdown().await;
    match ended {
        Ok(result) => result.map_err(NriError::Connection),
        Err(_) => Ok(()),
    }
}

/// The plugin's answers.
struct Plugin {
    injector: Injector,
}

impl rpc::Handler for Plugin {
    fn configure(&self, req: api::ConfigureRequest) -> Result<api::ConfigureResponse, String> {
        log::info!("configured by {} {}", req.runtime_name, req.runtime_version);
        // Only what is handled: a runtime may refuse a plugin subscribed to events it cannot
        // deliver.
        let events = [
            api::EVENT_CREATE_CONTAINER,
            api::EVENT_POST_CREATE_CONTAINER,
        ];
        Ok(api::ConfigureResponse {
            events: api::event_mask(&events),
        })
    }

    fn create_container(
        &self,
        req: api::CreateContainerRequest,
    ) -> Result<api::CreateContainerResponse, String> {
        let (pod, container) = (
            req.pod.unwrap_or_default(),
            req.container.unwrap_or_default(),
        );
        match self.injector.adjust(&pod, &container) {
            Ok(adjust) => {
                if adjust.is_some() {
                    log::info!(
                        "tracing container {} ({}) of pod {}",
                        container.name,
                        container.id,
                        pod.name
                    );
                }
                Ok(api::CreateContainerResponse { adjust })
            }
            Err(err) => {
                log::warn!(
                    "container {} of pod {} refused: {err}",
                    container.name,
                    pod.name
                );
                Err(err.to_string())
            }
        }
    }

    fn state_change(&self, event: api::StateChangeEvent) {
        if event.event != api::EVENT_POST_CREATE_CONTAINER {
            return;
        }
        let pod = event.pod.unwrap_or_default();
        let container = event.container.unwrap_or_default();
        if self.injector.dropped(&pod, &container) {
            log::warn!(
                "container {} ({}) of pod {} asked for tracing but was created without the hook \
                 (the runtime's validator or another plugin took it out): it runs untraced",
                container.name,
                container.id,
                pod.name
            );
        }
    }
}
