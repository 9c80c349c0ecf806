//! A scripted API server for client tests: every Get, List and Watch call
//! is handed to the test through a channel, and the test answers it. Calls are
//! seen in the order the client made them, so a test can assert "the next
//! call is a watch from version 12" without timing anything.

#![allow(dead_code)]

use capstan_proto::api::v1::resource_service_server::{ResourceService, ResourceServiceServer};
use capstan_proto::api::v1::*;
use capstan_proto::core::v1::Pod;
use capstan_proto::meta::v1::{ListMeta, ObjectMeta};
use capstan_proto::Resource;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::{Request, Response, Status};

pub type GetReply = oneshot::Sender<Result<Object, Status>>;
pub type ListReply = oneshot::Sender<Result<ObjectList, Status>>;
pub type WatchFeed = mpsc::Sender<Result<WatchEvent, Status>>;

/// One call the client made.
pub enum Call {
    Get(GetRequest, GetReply),
    List(ListRequest, ListReply),
    Watch(WatchRequest, WatchFeed),
}

struct Fake {
    calls: mpsc::UnboundedSender<Call>,
    down: Arc<AtomicBool>,
}

impl Fake {
    fn check_up(&self) -> Result<(), Status> {
        if self.down.load(Ordering::SeqCst) {
            return Err(Status::unavailable("going down"));
        }
        Ok(())
    }
}

#[tonic::async_trait]
impl ResourceService for Fake {
    async fn create(&self, _: Request<CreateRequest>) -> Result<Response<Object>, Status> {
        Err(Status::unimplemented("create"))
    }
    async fn get(&self, request: Request<GetRequest>) -> Result<Response<Object>, Status> {
        self.check_up()?;
        let (reply, answer) = oneshot::channel();
        let _ = self.calls.send(Call::Get(request.into_inner(), reply));
        let object = answer.await.map_err(|_| Status::unavailable("test dropped the get"))??;
        Ok(Response::new(object))
    }
    async fn list(&self, request: Request<ListRequest>) -> Result<Response<ObjectList>, Status> {
        self.check_up()?;
        let (reply, answer) = oneshot::channel();
        let _ = self.calls.send(Call::List(request.into_inner(), reply));
        let list = answer.await.map_err(|_| Status::unavailable("test dropped the list"))??;
        Ok(Response::new(list))
    }
    async fn update(&self, _: Request<UpdateRequest>) -> Result<Response<Object>, Status> {
        Err(Status::unimplemented("update"))
    }
    async fn patch(&self, _: Request<PatchRequest>) -> Result<Response<Object>, Status> {
        Err(Status::unimplemented("patch"))
    }
    async fn delete(&self, _: Request<DeleteRequest>) -> Result<Response<DeleteResponse>, Status> {
        Err(Status::unimplemented("delete"))
    }
    type WatchStream = ReceiverStream<Result<WatchEvent, Status>>;
    async fn watch(&self, request: Request<WatchRequest>) -> Result<Response<Self::WatchStream>, Status> {
        self.check_up()?;
        let (feed, events) = mpsc::channel(16);
        let _ = self.calls.send(Call::Watch(request.into_inner(), feed));
        Ok(Response::new(ReceiverStream::new(events)))
    }
    async fn discover(&self, _: Request<DiscoveryRequest>) -> Result<Response<DiscoveryResponse>, Status> {
        Err(Status::unimplemented("discover"))
    }
}

/// A running fake server on 127.0.0.1.
pub struct FakeServer {
    pub addr: SocketAddr,
    calls: mpsc::UnboundedReceiver<Call>,
    down: Arc<AtomicBool>,
    shutdown: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeServer {
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1:0".parse().expect("address")).await
    }

    pub async fn start_on(addr: SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let (calls_tx, calls) = mpsc::unbounded_channel();
        let down = Arc::new(AtomicBool::new(false));
        let fake = Fake { calls: calls_tx, down: down.clone() };
        let (shutdown, stop) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(ResourceServiceServer::new(fake))
                .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
                    let _ = stop.await;
                })
                .await
                .expect("fake server");
        });
        FakeServer { addr, calls, down, shutdown, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn next_call(&mut self) -> Call {
        self.calls.recv().await.expect("the fake server is running")
    }

    pub async fn expect_get(&mut self) -> (GetRequest, GetReply) {
        match self.next_call().await {
            Call::Get(request, reply) => (request, reply),
            Call::List(..) => panic!("expected a get, got a list"),
            Call::Watch(request, _) => panic!("expected a get, got a watch from {:?}", options(&request.options)),
        }
    }

    pub async fn expect_list(&mut self) -> (ListRequest, ListReply) {
        match self.next_call().await {
            Call::List(request, reply) => (request, reply),
            Call::Get(..) => panic!("expected a list, got a get"),
            Call::Watch(request, _) => panic!("expected a list, got a watch from {:?}", options(&request.options)),
        }
    }

    /// The next call, which must be an informer's watch: its starting
    /// resourceVersion and the feed to send its events on.
    pub async fn expect_watch(&mut self) -> (String, WatchFeed) {
        let (request, feed) = self.expect_any_watch().await;
        let opts = request.options.unwrap_or_default();
        assert!(opts.allow_bookmarks, "informers ask for bookmarks");
        (opts.resource_version, feed)
    }

    pub async fn expect_any_watch(&mut self) -> (WatchRequest, WatchFeed) {
        match self.next_call().await {
            Call::Watch(request, feed) => (request, feed),
            Call::List(..) => panic!("expected a watch, got a list"),
            Call::Get(..) => panic!("expected a watch, got a get"),
        }
    }

    /// Answers every later call with Unavailable, then stops serving and
    /// frees the port.
    pub async fn stop(self) -> SocketAddr {
        self.down.store(true, Ordering::SeqCst);
        let _ = self.shutdown.send(());
        drop(self.calls);
        self.task.await.expect("fake server task");
        self.addr
    }
}

fn options(o: &Option<ListOptions>) -> String {
    o.as_ref().map(|o| o.resource_version.clone()).unwrap_or_default()
}

pub fn pod(name: &str, rv: &str) -> Pod {
    Pod {
        metadata: Some(ObjectMeta {
            name: name.into(),
            namespace: "default".into(),
            resource_version: rv.into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn list(items: Vec<Pod>, rv: &str) -> ObjectList {
    ObjectList {
        metadata: Some(ListMeta { resource_version: rv.into(), ..Default::default() }),
        items: items.into_iter().map(Resource::into_object).collect(),
    }
}

pub fn event(kind: &str, pod: Pod) -> Result<WatchEvent, Status> {
    Ok(WatchEvent { r#type: kind.into(), object: Some(pod.into_object()) })
}
