//! Error responses in Genesys Cloud's `ErrorBody` shape.
//!
//! Every handler answers failures with an [`ApiError`]; the request's correlation id goes into
//! `contextId` here and into the `ININ-Correlation-Id` header in the gateway, so both always agree.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::wire::{Detail, ErrorBody};

/// A failed API request, ready to be sent as an `ErrorBody`. Boxed: handlers pass it around in
/// `Result`s, which should stay small.
#[derive(Debug, Clone)]
pub struct ApiError(Box<Parts>);

#[derive(Debug, Clone)]
pub struct Parts {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub context_id: String,
    pub entity_id: Option<String>,
    pub field: Option<String>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(
        ctx: &str,
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        ApiError(Box::new(Parts {
            status,
            code,
            message: message.into(),
            context_id: ctx.to_owned(),
            entity_id: None,
            field: None,
            retry_after: None,
        }))
    }

    pub fn bad_request(ctx: &str, message: impl Into<String>) -> Self {
        Self::new(ctx, StatusCode::BAD_REQUEST, "bad.request", message)
    }

    /// 400 `invalid.value` about one field; the field lands in `details[].fieldName` too.
    pub fn invalid_value(ctx: &str, field: &str, message: impl Into<String>) -> Self {
        let mut error = Self::new(ctx, StatusCode::BAD_REQUEST, "invalid.value", message);
        error.0.field = Some(field.to_owned());
        error
    }

    pub fn not_found(ctx: &str, message: impl Into<String>) -> Self {
        Self::new(ctx, StatusCode::NOT_FOUND, "not.found", message)
    }

    pub fn conflict(ctx: &str, message: impl Into<String>) -> Self {
        Self::new(ctx, StatusCode::CONFLICT, "conflict", message)
    }

    pub fn too_many_requests(ctx: &str, retry_after: u64) -> Self {
        let mut error = Self::new(
            ctx,
            StatusCode::TOO_MANY_REQUESTS,
            "too.many.requests.retry.after",
            format!(
                "Rate limit exceeded the maximum. Retry the request in [{retry_after}] seconds"
            ),
        );
        error.0.retry_after = Some(retry_after);
        error
    }

    pub fn service_unavailable(ctx: &str) -> Self {
        Self::new(
            ctx,
            StatusCode::SERVICE_UNAVAILABLE,
            "service.unavailable",
            "The service is currently unavailable. Please try again later.",
        )
    }

    pub fn with_entity(mut self, id: &str) -> Self {
        self.0.entity_id = Some(id.to_owned());
        self
    }

    pub fn body(&self) -> ErrorBody {
        let this = &self.0;
        let details = this.field.iter().map(|field| Detail {
            error_code: this.code.to_owned(),
            field_name: field.clone(),
        });
        ErrorBody {
            message: this.message.clone(),
            code: this.code.to_owned(),
            status: this.status.as_u16(),
            context_id: this.context_id.clone(),
            entity_id: this.entity_id.clone(),
            message_params: this
                .field
                .as_ref()
                .map(|field| [("field".to_owned(), field.clone())].into()),
            details: details.collect(),
            errors: vec![],
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.0.status, axum::Json(self.body())).into_response();
        if let Some(secs) = self.0.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
