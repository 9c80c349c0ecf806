//! The three Lease calls leader election makes, behind a trait so the
//! elector's tests script a lease (and its holder's clock) without a server.

use capstan_client::{Api, ClientError};
use capstan_proto::coordination::v1::Lease;

#[async_trait::async_trait]
pub(crate) trait Leases: Send + Sync {
    async fn get(&self, name: &str) -> Result<Lease, ClientError>;
    async fn create(&self, lease: &Lease) -> Result<Lease, ClientError>;
    /// Pinned to the lease's resourceVersion: a stale one is a conflict.
    async fn update(&self, lease: &Lease) -> Result<Lease, ClientError>;
}

#[async_trait::async_trait]
impl Leases for Api<Lease> {
    async fn get(&self, name: &str) -> Result<Lease, ClientError> {
        Api::get(self, name).await
    }

    async fn create(&self, lease: &Lease) -> Result<Lease, ClientError> {
        Api::create(self, lease).await
    }

    async fn update(&self, lease: &Lease) -> Result<Lease, ClientError> {
        Api::update(self, lease).await
    }
}
