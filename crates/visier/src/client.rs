//! [`VisierClient`]: one method per Visier operation, 1:1 with the vendor's API.
//!
//! Usable on its own as an SDK. The ten Profiles operations keep the official SDK's
//! names; the Users V1, user-group and permission calls the adapter needs follow.
//! `TargetTenantID` (set with [`VisierClient::with_target_tenant`] or the config's
//! `tenant`) is sent exactly on the operations whose spec accepts it: never on
//! `assign_analytic_profile`, `get_analytic_profiles`, `get_analytic_profile_detail`
//! or `get_analytic_user_profile`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::Stream;
use grantbridge_core::http::{
    HttpClient, PageGuard, RateLimitHints, Request, Response, Stats, VendorError, VendorHooks,
    header::HeaderMap, int_header, retry_after,
};
use grantbridge_core::{Error, Result, TenantCode};
use serde::de::DeserializeOwned;
use url::Url;

use crate::auth::{self, Authenticator, Grant, OAuthClient};
use crate::config::VisierConfig;
use crate::wire::*;

/// Largest page of `GET /v1/admin/users` and `GET /v1/admin/user-groups`.
pub const MAX_USERS_PAGE: u32 = 1000;

/// Largest page of the user-group members and permission users lists.
pub const MAX_MEMBERS_PAGE: u32 = 100;

/// Visier's error conventions for the shared transport: budget hints from
/// `X-RateLimit-Remaining-Minute`/`-Hour` ([`visier_hints`]), error bodies in any of
/// the three `Status` shapes ([`parse_error`]; the `rci` becomes the request id).
///
/// [`VisierClient`] builds its transport with
/// [`ClientOptions::renewable_unauthorized`](grantbridge_core::http::ClientOptions::renewable_unauthorized),
/// so a 401 arrives as [`Error::Vendor`] with status 401 and the client can renew its
/// token once; it turns a second 401 into [`Error::Authentication`].
#[derive(Clone, Copy, Debug, Default)]
pub struct VisierHooks;

impl VendorHooks for VisierHooks {
    fn rate_limit_hints(&self, response: &Response) -> RateLimitHints {
        visier_hints(response.headers())
    }

    fn parse_error(&self, response: &Response) -> Option<VendorError> {
        parse_error(response.body())
    }
}

/// A Visier `Status` body: code (`code` or `errorCode`), message (`localizedMessage`,
/// else `message`) and `rci` as the request id. `None` without a message (an HTML
/// page from a gateway, an empty body), which the transport reads the generic way.
pub fn parse_error(body: &[u8]) -> Option<VendorError> {
    let status = serde_json::from_slice::<StatusDto>(body).ok()?;
    Some(VendorError {
        message: status.message_text()?,
        code: status.code_text(),
        request_id: status.rci,
    })
}

/// Visier's hints: `X-RateLimit-Remaining-Minute` and `-Hour` (the smaller is the
/// remaining budget), plus `Retry-After` if the server sends one (not documented).
///
/// Visier gives no reset time, only which window binds: the budget is taken to hold
/// for at most that window (a minute, or an hour when the hourly budget is the
/// smaller), so an exhausted hourly budget is not retried every minute.
pub fn visier_hints(headers: &HeaderMap) -> RateLimitHints {
    let minute = int_header(headers, "x-ratelimit-remaining-minute");
    let hour = int_header(headers, "x-ratelimit-remaining-hour");
    const MINUTE: Duration = Duration::from_secs(60);
    const HOUR: Duration = Duration::from_secs(3600);
    let (remaining, reset_after) = match (minute, hour) {
        (Some(m), Some(h)) if h < m => (Some(h), Some(HOUR)),
        (Some(m), _) => (Some(m), Some(MINUTE)),
        (None, Some(h)) => (Some(h), Some(HOUR)),
        (None, None) => (None, None),
    };
    RateLimitHints {
        retry_after: retry_after(headers, SystemTime::now()),
        remaining,
        reset_after,
    }
}

/// The query of `GET /v1/admin/users` and `GET /v1/admin/users/{id}`; booleans go out
/// lowercase, `None` fields are left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsersQuery {
    /// The tenant to list (administrating tenants only).
    pub tenant_code: Option<String>,
    /// Include each user's profiles.
    pub assigned_profiles: Option<bool>,
    /// Include each user's permissions.
    pub assigned_permissions: Option<bool>,
    /// Include each user's groups.
    pub assigned_user_groups: Option<bool>,
    /// Page size (at most [`MAX_USERS_PAGE`]).
    pub limit: Option<u32>,
    /// Offset (0-based).
    pub start: Option<u32>,
}

impl UsersQuery {
    fn apply(&self, mut r: Request) -> Request {
        if let Some(t) = &self.tenant_code {
            r = r.query("tenantCode", t);
        }
        for (k, v) in [
            ("assignedProfiles", self.assigned_profiles),
            ("assignedPermissions", self.assigned_permissions),
            ("assignedUserGroups", self.assigned_user_groups),
        ] {
            if let Some(v) = v {
                r = r.query(k, v);
            }
        }
        if let Some(l) = self.limit {
            r = r.query("limit", l);
        }
        if let Some(s) = self.start {
            r = r.query("start", s);
        }
        r
    }
}

/// A client of one Visier tenant. Cheap to clone; clones share the connection pool,
/// rate limiter, counters and token.
///
/// ```no_run
/// use grantbridge_visier::{VisierClient, VisierConfig, VisierCredentials};
///
/// # async fn run() -> grantbridge_core::Result<()> {
/// let config = VisierConfig::new(
///     "https://acme.api.visier.io",
///     VisierCredentials::password("api-key", "ana@example.com", "password"),
/// );
/// let client = VisierClient::new(&config)?;
/// for p in client.get_all_profiles().await?.profiles {
///     println!("{:?} {:?}", p.profile_id, p.display_name);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct VisierClient {
    http: HttpClient,
    auth: Arc<Authenticator>,
    target_tenant: Option<TenantCode>,
}

impl VisierClient {
    /// A client for `config` (nothing is sent until the first call).
    ///
    /// Fails with [`Error::InvalidInput`] for a refused base URL, or when
    /// `config.options` was built for another base URL.
    pub fn new(config: &VisierConfig) -> Result<Self> {
        let wanted = Url::parse(&config.base_url)
            .map_err(|e| Error::invalid("Visier base URL", e.to_string()))?;
        let built = config.options.parsed_base_url()?;
        if wanted != built {
            return Err(Error::invalid(
                "Visier options",
                "were built for another base URL; adjust them with VisierConfig::with_options",
            ));
        }
        let options = config
            .options
            .clone()
            .header("accept", "application/json")
            .secret_header("apikey", "", config.credentials.api_key.clone())
            // A 401 is renewed once (see `send`); it must stay apart from a 403.
            .renewable_unauthorized(true);
        let http = HttpClient::with_hooks(options, VisierHooks)?;
        Ok(VisierClient {
            http,
            auth: Arc::new(Authenticator::new(config.credentials.method.clone())),
            target_tenant: config.tenant.clone(),
        })
    }

    /// The same client sending `TargetTenantID: code` (or none) where allowed.
    pub fn with_target_tenant(&self, code: Option<TenantCode>) -> Self {
        VisierClient {
            target_tenant: code,
            ..self.clone()
        }
    }

    /// The `TargetTenantID` this client sends.
    pub fn target_tenant(&self) -> Option<&TenantCode> {
        self.target_tenant.as_ref()
    }

    /// The underlying transport.
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// Request counters since the client was built.
    pub fn stats(&self) -> Stats {
        self.http.stats()
    }

    fn tenant_header(&self, r: Request) -> Request {
        match &self.target_tenant {
            Some(t) => r.header("TargetTenantID", t.as_str()),
            None => r,
        }
    }

    /// Sends with the current credential; on a 401 renews it once and resends; a
    /// second 401 (or a 401 with a token that cannot be renewed) becomes
    /// [`Error::Authentication`] with the vendor's message.
    async fn send(&self, request: Request) -> Result<Response> {
        let (credential, generation) = self.auth.credential(&self.http).await?;
        match self.http.send(credential.apply(request.clone())).await {
            Err(e) if is_401(&e) => {
                tracing::debug!("HTTP 401; renewing the credential once");
                match self.auth.renew(&self.http, generation).await? {
                    None => Err(unauthorized(e)),
                    Some((credential, _)) => self
                        .http
                        .send(credential.apply(request))
                        .await
                        .map_err(|e| if is_401(&e) { unauthorized(e) } else { e }),
                }
            }
            other => other,
        }
    }

    async fn json<T: DeserializeOwned>(&self, request: Request) -> Result<T> {
        let response = self.send(request).await?;
        // Every Visier answer read here is an object; serde would otherwise read `[]`
        // as a struct of defaults, i.e. an empty success.
        let first = response.body().iter().find(|b| !b.is_ascii_whitespace());
        if first != Some(&b'{') {
            return Err(response.decode_error("expected a JSON object"));
        }
        response.json()
    }

    // -- Tokens ------------------------------------------------------------------

    /// `POST /v1/admin/visierSecureToken`: an ASID token for a username and password.
    pub async fn asid_token(
        &self,
        username: &str,
        password: &grantbridge_core::http::Secret,
        vanity_name: Option<&str>,
    ) -> Result<grantbridge_core::http::Secret> {
        auth::asid_token(&self.http, username, password, vanity_name).await
    }

    /// `POST /v1/auth/oauth2/token` with the password grant; returns the access token,
    /// the refresh token if any, and the lifetime in seconds.
    pub async fn oauth2_password_token(
        &self,
        client_id: &str,
        client_secret: &grantbridge_core::http::Secret,
        username: &str,
        password: &grantbridge_core::http::Secret,
        scope: Option<&str>,
    ) -> Result<(
        grantbridge_core::http::Secret,
        Option<grantbridge_core::http::Secret>,
        u64,
    )> {
        let client = OAuthClient {
            id: client_id,
            secret: client_secret,
            scope,
        };
        let r =
            auth::oauth2_token(&self.http, &client, Grant::Password { username, password }).await?;
        Ok((r.access_token, r.refresh_token, r.expires_in))
    }

    // -- Profiles (the ten operations) --------------------------------------------

    /// `GET /v1/admin/profiles` (`TargetTenantID` allowed).
    pub async fn get_all_profiles(&self) -> Result<ProfilesGetApiResponseDto> {
        self.json(self.tenant_header(Request::get("/v1/admin/profiles")))
            .await
    }

    /// `GET /v1/admin/profiles/{profileId}` (`TargetTenantID` allowed).
    pub async fn get_profile_detail(&self, profile_id: &str) -> Result<ProfileGetApiResponseDto> {
        self.json(self.tenant_header(Request::get("/v1/admin/profiles").param(profile_id)))
            .await
    }

    /// `GET /v1/admin/profiles/accessible-tenants` (administrating tenants only).
    pub async fn get_analytic_profiles(&self) -> Result<ProfilesGetApiResponseDto> {
        self.json(Request::get("/v1/admin/profiles/accessible-tenants"))
            .await
    }

    /// `GET /v1/admin/profiles/accessible-tenants/{profileId}`.
    pub async fn get_analytic_profile_detail(
        &self,
        profile_id: &str,
    ) -> Result<ProfileGetApiResponseDto> {
        self.json(Request::get("/v1/admin/profiles/accessible-tenants").param(profile_id))
            .await
    }

    /// `GET /v1/admin/users/{userId}/profiles` (`TargetTenantID` allowed).
    pub async fn get_user_profile(
        &self,
        user_id: &str,
    ) -> Result<AllProfileAssignedForLocalTenantDto> {
        self.json(
            self.tenant_header(
                Request::get("/v1/admin/users")
                    .param(user_id)
                    .path("profiles"),
            ),
        )
        .await
    }

    /// `GET /v1/admin/users/{userId}/accessible-tenant-profiles`.
    pub async fn get_analytic_user_profile(
        &self,
        user_id: &str,
    ) -> Result<AllProfileAssignedForAccessibleTenantDto> {
        self.json(
            Request::get("/v1/admin/users")
                .param(user_id)
                .path("accessible-tenant-profiles"),
        )
        .await
    }

    /// `PUT /v1/admin/profiles/{profileId}/assign` (`TargetTenantID` allowed). HTTP 200
    /// even when items fail: read the answer's `errors`, `badUserIds` and
    /// `failedAssignments`.
    pub async fn assign_profile(
        &self,
        profile_id: &str,
        body: &LocalTenantProfileAssignmentRequestDto,
    ) -> Result<LocalTenantProfileAssignmentResponseDto> {
        self.json(
            self.tenant_header(
                Request::put("/v1/admin/profiles")
                    .param(profile_id)
                    .path("assign")
                    .json(body),
            ),
        )
        .await
    }

    /// `PUT /v1/admin/profiles/accessible-tenants/{profileId}/assign` (no
    /// `TargetTenantID`: the spec does not accept it here). A `validityEndTime` in the
    /// past revokes.
    pub async fn assign_analytic_profile(
        &self,
        profile_id: &str,
        body: &AccessibleTenantProfileAssignmentRequestDto,
    ) -> Result<AccessibleTenantProfileAssignmentResponseDto> {
        self.json(
            Request::put("/v1/admin/profiles/accessible-tenants")
                .param(profile_id)
                .path("assign")
                .json(body),
        )
        .await
    }

    /// `DELETE /v1/admin/profiles/{profileId}/remove` with a JSON body
    /// (`TargetTenantID` allowed).
    pub async fn remove_profile(
        &self,
        profile_id: &str,
        body: &LocalTenantProfileRevokeRequestDto,
    ) -> Result<LocalTenantProfileRevokeResponseDto> {
        self.json(
            self.tenant_header(
                Request::delete("/v1/admin/profiles")
                    .param(profile_id)
                    .path("remove")
                    .json(body),
            ),
        )
        .await
    }

    /// `DELETE /v1/admin/profiles/accessible-tenants/{profileId}/remove` with a JSON
    /// body (`TargetTenantID` allowed).
    pub async fn remove_analytic_profile(
        &self,
        profile_id: &str,
        body: &AccessibleTenantProfileRevokeRequestDto,
    ) -> Result<AccessibleTenantProfileRevokeResponseDto> {
        self.json(
            self.tenant_header(
                Request::delete("/v1/admin/profiles/accessible-tenants")
                    .param(profile_id)
                    .path("remove")
                    .json(body),
            ),
        )
        .await
    }

    // -- Users V1 ------------------------------------------------------------------

    /// `GET /v1/admin/users`: one page.
    pub async fn get_all_users(&self, query: &UsersQuery) -> Result<AllUsersGetApiResponseDto> {
        self.json(query.apply(self.tenant_header(Request::get("/v1/admin/users"))))
            .await
    }

    /// Every user, page after page of `limit` (at most [`MAX_USERS_PAGE`]) from
    /// `query.start`: stops on a short page (the API has no total), and fails with
    /// [`Error::Decode`] ([`PageGuard`]) if the server repeats a page instead of
    /// advancing.
    pub fn stream_users(
        &self,
        query: UsersQuery,
    ) -> impl Stream<Item = Result<UserGetApiResponseDto>> + Send + 'static {
        let client = self.clone();
        let limit = query
            .limit
            .unwrap_or(MAX_USERS_PAGE)
            .clamp(1, MAX_USERS_PAGE);
        let start = query.start.unwrap_or(0);
        let pages = futures::stream::try_unfold(
            (Some(start), PageGuard::new("GET /v1/admin/users")),
            move |(next, mut guard)| {
                let client = client.clone();
                let query = query.clone();
                async move {
                    let Some(start) = next else {
                        return Ok(None);
                    };
                    let page = client
                        .get_all_users(&UsersQuery {
                            limit: Some(limit),
                            start: Some(start),
                            ..query
                        })
                        .await?;
                    // A page starting with the user another page started with: the
                    // server ignored `start`.
                    if let Some(first) = page.users.first().and_then(|u| u.user_id.as_deref()) {
                        guard.check(first)?;
                    }
                    let full = page.users.len() >= limit as usize;
                    let next = if full { start.checked_add(limit) } else { None };
                    Ok(Some((
                        futures::stream::iter(page.users.into_iter().map(Ok)),
                        (next, guard),
                    )))
                }
            },
        );
        futures::TryStreamExt::try_flatten(pages)
    }

    /// `GET /v1/admin/users/{userId}`.
    pub async fn get_user(
        &self,
        user_id: &str,
        query: &UsersQuery,
    ) -> Result<UserGetApiResponseDto> {
        self.json(query.apply(self.tenant_header(Request::get("/v1/admin/users").param(user_id))))
            .await
    }

    // -- User groups (v1) --------------------------------------------------------------

    /// `GET /v1/admin/user-groups`: one page.
    pub async fn get_user_groups(
        &self,
        tenant_code: Option<&str>,
        limit: Option<u32>,
        start: Option<u32>,
    ) -> Result<UserGroupsGetApiResponseDto> {
        let mut r = self.tenant_header(Request::get("/v1/admin/user-groups"));
        if let Some(t) = tenant_code {
            r = r.query("tenantCode", t);
        }
        if let Some(l) = limit {
            r = r.query("limit", l);
        }
        if let Some(s) = start {
            r = r.query("start", s);
        }
        self.json(r).await
    }

    /// Every user group (pages of [`MAX_USERS_PAGE`]).
    pub async fn get_all_user_groups(&self) -> Result<Vec<UserGroupGetApiResponseDto>> {
        let mut out = Vec::new();
        let mut guard = PageGuard::new("GET /v1/admin/user-groups");
        let mut start = 0u32;
        loop {
            let page = self
                .get_user_groups(None, Some(MAX_USERS_PAGE), Some(start))
                .await?;
            let n = page.user_groups.len();
            check_advanced(&mut guard, &page.user_groups, |g| &g.user_group_id)?;
            out.extend(page.user_groups);
            if n < MAX_USERS_PAGE as usize {
                return Ok(out);
            }
            start = start.saturating_add(MAX_USERS_PAGE);
        }
    }

    /// `GET /v1/admin/user-groups/{userGroupId}/users`: one page.
    pub async fn get_user_group_users(
        &self,
        user_group_id: &str,
        tenant_filter: Option<&str>,
        limit: Option<u32>,
        start: Option<u32>,
    ) -> Result<UserGroupsUsersDto> {
        let mut r = self.tenant_header(
            Request::get("/v1/admin/user-groups")
                .param(user_group_id)
                .path("users"),
        );
        if let Some(t) = tenant_filter {
            r = r.query("tenantFilter", t);
        }
        if let Some(l) = limit {
            r = r.query("limit", l);
        }
        if let Some(s) = start {
            r = r.query("start", s);
        }
        self.json(r).await
    }

    /// Every member of a group, all tenants (pages of [`MAX_MEMBERS_PAGE`]).
    pub async fn get_all_user_group_users(&self, user_group_id: &str) -> Result<Vec<UserRefDto>> {
        let mut out: Vec<UserRefDto> = Vec::new();
        let mut guard = PageGuard::new("GET /v1/admin/user-groups/{}/users");
        let mut start = 0u32;
        loop {
            let page = self
                .get_user_group_users(user_group_id, None, Some(MAX_MEMBERS_PAGE), Some(start))
                .await?;
            let users: Vec<UserRefDto> = page.tenants.into_iter().flat_map(|t| t.users).collect();
            let n = users.len();
            check_advanced(&mut guard, &users, |u| &u.user_id)?;
            out.extend(users);
            if n < MAX_MEMBERS_PAGE as usize {
                return Ok(out);
            }
            start = start.saturating_add(MAX_MEMBERS_PAGE);
        }
    }

    /// `PUT /v1/admin/user-groups/users`: adds users to groups.
    pub async fn add_users_to_user_groups(
        &self,
        body: &UsersToUserGroupsRequestDto,
    ) -> Result<SecurityAssignmentResponseDto> {
        self.json(self.tenant_header(Request::put("/v1/admin/user-groups/users").json(body)))
            .await
    }

    /// `DELETE /v1/admin/user-groups/users` with a JSON body: removes users from groups.
    pub async fn remove_users_from_user_groups(
        &self,
        body: &UsersToUserGroupsRequestDto,
    ) -> Result<SecurityAssignmentResponseDto> {
        self.json(self.tenant_header(Request::delete("/v1/admin/user-groups/users").json(body)))
            .await
    }

    // -- Permissions -------------------------------------------------------------------

    /// `GET /v1/admin/permissions`.
    pub async fn get_permissions(&self, tenant_code: Option<&str>) -> Result<PermissionsListDto> {
        let mut r = self.tenant_header(Request::get("/v1/admin/permissions"));
        if let Some(t) = tenant_code {
            r = r.query("tenantCode", t);
        }
        self.json(r).await
    }

    /// `PUT /v1/admin/permissions/users`: assigns permissions to users.
    pub async fn assign_permissions(
        &self,
        body: &AssignRevokePermissionsRequestDto,
    ) -> Result<AssignRevokePermissionsResponseDto> {
        self.json(self.tenant_header(Request::put("/v1/admin/permissions/users").json(body)))
            .await
    }

    /// `DELETE /v1/admin/permissions/users` with a JSON body: removes permissions.
    pub async fn remove_permissions(
        &self,
        body: &AssignRevokePermissionsRequestDto,
    ) -> Result<AssignRevokePermissionsResponseDto> {
        self.json(self.tenant_header(Request::delete("/v1/admin/permissions/users").json(body)))
            .await
    }

    /// `GET /v1/admin/permissions/{permissionId}/users`: one page.
    pub async fn get_permission_users(
        &self,
        permission_id: &str,
        include_user_groups: Option<bool>,
        limit: Option<u32>,
        start: Option<u32>,
    ) -> Result<PermissionAssignedUsersDto> {
        let mut r = self.tenant_header(
            Request::get("/v1/admin/permissions")
                .param(permission_id)
                .path("users"),
        );
        if let Some(b) = include_user_groups {
            r = r.query("includeUserGroups", b);
        }
        if let Some(l) = limit {
            r = r.query("limit", l);
        }
        if let Some(s) = start {
            r = r.query("start", s);
        }
        self.json(r).await
    }
}

/// A page whose first item was already listed on the page before means the server
/// ignored `start`: stop instead of looping. Remembers the page's ids for the next.
fn check_advanced<T>(
    guard: &mut PageGuard,
    page: &[T],
    id: impl Fn(&T) -> &Option<String>,
) -> Result<()> {
    if let Some(first) = page.first().and_then(|x| id(x).as_deref()) {
        guard.check(first)?;
    }
    for x in page {
        if let Some(key) = id(x) {
            guard.remember(key);
        }
    }
    Ok(())
}

fn is_401(e: &Error) -> bool {
    matches!(e, Error::Vendor { status: 401, .. })
}

fn unauthorized(e: Error) -> Error {
    match e {
        Error::Vendor {
            code,
            message,
            request_id,
            ..
        } => Error::Authentication {
            message: format!(
                "HTTP 401{}: {message}{}",
                code.map(|c| format!(" {c}")).unwrap_or_default(),
                request_id
                    .map(|r| format!(" [rci {r}]"))
                    .unwrap_or_default()
            ),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use grantbridge_core::testing::header_map as headers;

    // Moved from core's `segment_and_visier_hints` (issue 14), assertions unchanged.
    #[test]
    fn visier_hints_read_the_binding_window() {
        let v = visier_hints(&headers(&[
            ("x-ratelimit-remaining-minute", "12"),
            ("x-ratelimit-remaining-hour", "5000"),
        ]));
        assert_eq!(v.remaining, Some(12));
        assert_eq!(v.reset_after, Some(Duration::from_secs(60)));
        let v = visier_hints(&headers(&[
            ("x-ratelimit-remaining-minute", "40"),
            ("x-ratelimit-remaining-hour", "0"),
        ]));
        assert_eq!(v.remaining, Some(0));
        assert_eq!(v.reset_after, Some(Duration::from_secs(3600)));
        assert_eq!(visier_hints(&HeaderMap::new()), RateLimitHints::default());
    }

    #[test]
    fn status_bodies() {
        let body =
            br#"{"code":"USER_INPUT_ERROR","localizedMessage":"lm","message":"m","rci":"R1"}"#;
        assert_eq!(
            parse_error(body),
            Some(VendorError {
                code: Some("USER_INPUT_ERROR".to_owned()),
                message: "lm".to_owned(),
                request_id: Some("R1".to_owned()),
            })
        );
        assert_eq!(
            parse_error(br#"{"code":7,"message":"denied"}"#).map(|e| (e.code, e.message)),
            Some((Some("7".to_owned()), "denied".to_owned()))
        );
        assert_eq!(parse_error(br#"{"code":"X"}"#), None);
        assert_eq!(parse_error(b"<html>502</html>"), None);
    }
}
