//! [`ReadTenant`]: the `{tenant}` of a read route, once the caller may read it.
//!
//! Every handler that shows a tenant's data takes a `ReadTenant` instead of
//! the bare path segment, so a read route cannot forget the check: the
//! tenant must exist (404), and a read-protected one needs a token that
//! meets its rules (401 without one, 403 with one that does not).

use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::Deserialize;

use super::api::check_tenant;
use super::auth::{Auth, Need};
use super::{WebError, WebState};

/// The name of a tenant the caller may read.
#[derive(Debug, Clone)]
pub struct ReadTenant(String);

impl ReadTenant {
    /// The tenant's name, owned.
    pub fn into_name(self) -> String {
        self.0
    }
}

impl Deref for ReadTenant {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

/// The `{tenant}` segment, decoded as `web::Path` decodes it; other segments are ignored.
#[derive(Deserialize)]
struct TenantSegment {
    tenant: String,
}

impl FromRequest for ReadTenant {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<ReadTenant, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let segment = web::Path::<TenantSegment>::extract(&req).await?;
            let tenant = segment.into_inner().tenant;
            let (state, auth) = (app_data::<WebState>(&req)?, app_data::<Auth>(&req)?);
            admit_reader(&state, &auth, &req, &tenant).await?;
            Ok(ReadTenant(tenant))
        })
    }
}

/// Checks, in Zuul's order, that `tenant` exists and that the caller of `req` may read it.
pub async fn admit_reader(
    state: &WebState,
    auth: &Auth,
    req: &HttpRequest,
    tenant: &str,
) -> Result<(), WebError> {
    check_tenant(state, tenant).await?;
    auth.check(req, Some(tenant), Need::Read)?;
    Ok(())
}

/// Shared state the app registers; its absence is a wiring bug, answered as a 500.
fn app_data<T: 'static>(req: &HttpRequest) -> Result<web::Data<T>, actix_web::Error> {
    req.app_data::<web::Data<T>>().cloned().ok_or_else(|| {
        let missing = std::any::type_name::<T>();
        actix_web::error::ErrorInternalServerError(format!("{missing} is not registered"))
    })
}
