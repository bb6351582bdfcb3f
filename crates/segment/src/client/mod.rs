//! A 1:1 client of the Segment Public API's IAM operations.
//!
//! One method per vendor operation, named after it (`listUsers` → [`SegmentClient::list_users`]),
//! taking and returning the [`wire`](crate::wire) types. List operations come twice: the
//! single page (`list_users(&PaginationInput)`) and a [`Stream`](futures::Stream) of all items
//! (`stream_users(count)`) that follows `next` until it is absent or null and fails on a
//! repeated cursor.
//!
//! On the wire the client sends what the spec documents (and what the Go SDK sends):
//! dotted pagination `pagination.count=N&pagination.cursor=…`, arrays as
//! `userIds.0=…&userIds.1=…`, every query value and path parameter percent-encoded
//! (`@` → `%40`, `+` → `%2B`, `=` → `%3D`, `/` → `%2F`), `Authorization: Bearer …`.
//! IAM mutations go through the transport's limiter as the class [`IAM_MUTATION`]
//! (60 per minute by default); reads use the default class.
//!
//! ```no_run
//! use futures::TryStreamExt;
//! use grantbridge_segment::{SegmentClient, SegmentConfig};
//!
//! # async fn run() -> grantbridge_core::Result<()> {
//! let client = SegmentClient::new(&SegmentConfig::from_env()?)?;
//! let users: Vec<_> = client.stream_users(200).try_collect().await?;
//! println!("{} users, {} requests", users.len(), client.http().stats().requests);
//! # Ok(()) }
//! ```

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use grantbridge_core::http::{ClientOptions, HttpClient, PageGuard, Request};
use grantbridge_core::{Entity, Error, Result};
use serde::de::DeserializeOwned;

use crate::wire::*;

mod hooks;

pub use hooks::{SegmentHooks, parse_error, segment_hints, segment_hints_at};

#[doc(inline)]
pub use crate::config::{
    EU_BASE_URL, IAM_MUTATION, IAM_MUTATIONS_PER_MINUTE, SegmentConfig, US_BASE_URL,
};

/// The page size the client uses when none is given (the server's default too).
pub const DEFAULT_PAGE_SIZE: u32 = 200;
/// The largest page the API accepts.
pub const MAX_PAGE_SIZE: u32 = 1000;
/// The system name used in errors and spans.
pub const SYSTEM: &str = "segment";

/// Turns the vendor's 404 into [`Error::NotFound`] for the object the call named.
fn not_found(entity: Entity, id: &str) -> impl FnOnce(Error) -> Error + '_ {
    move |e| match e {
        Error::Vendor { status: 404, .. } => Error::not_found(entity, id),
        other => other,
    }
}

/// Percent-encodes a query key or value: everything but the RFC 3986 unreserved
/// characters, so `+` is `%2B` (never read as a space), `@` `%40`, `=` `%3D`.
pub fn encode_query_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The documented dotted pagination: `pagination.count=N[&pagination.cursor=…]`.
pub fn pagination_query(p: &PaginationInput) -> String {
    let mut q = format!("pagination.count={}", p.count);
    if let Some(cursor) = &p.cursor {
        q.push_str("&pagination.cursor=");
        q.push_str(&encode_query_component(cursor));
    }
    q
}

/// The documented array form: `name.0=a&name.1=b`.
pub fn array_query(name: &str, values: &[String]) -> String {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{name}.{i}={}", encode_query_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn check_count(count: u32) -> Result<()> {
    if count == 0 || count > MAX_PAGE_SIZE {
        return Err(Error::invalid(
            "pagination.count",
            format!("{count} is outside 1..={MAX_PAGE_SIZE}"),
        ));
    }
    Ok(())
}

fn non_empty(what: &str, values: &[String]) -> Result<()> {
    if values.is_empty() {
        return Err(Error::invalid(
            what,
            "needs at least one value (the API requires the list)",
        ));
    }
    if let Some(v) = values.iter().find(|v| v.is_empty()) {
        return Err(Error::invalid(what, format!("holds an empty value {v:?}")));
    }
    Ok(())
}

/// The Segment Public API client (IAM, workspace and resource lists).
///
/// Cheap to clone; clones share the connection pool, the rate limiter and the
/// request counters ([`SegmentClient::http`]).
#[derive(Clone, Debug)]
pub struct SegmentClient {
    http: HttpClient,
}

impl SegmentClient {
    /// A client for `config`. Fails with [`Error::InvalidInput`] if the base URL is
    /// refused (plain http off loopback) or the options were built for another URL,
    /// and with [`Error::Authentication`] for an empty token.
    pub fn new(config: &SegmentConfig) -> Result<Self> {
        if config.token.is_empty() {
            return Err(Error::Authentication {
                message: "the Segment token is empty".to_owned(),
            });
        }
        let wanted = ClientOptions::new(SYSTEM, config.base_url.trim_end_matches('/'))
            .allow_insecure_http(true)
            .parsed_base_url()?;
        let configured = config.options.parsed_base_url()?;
        if wanted != configured {
            return Err(Error::invalid(
                "SegmentConfig.options",
                "were built for another base URL than SegmentConfig.base_url; \
                 build them with SegmentConfig::default_options(base_url)",
            ));
        }
        let options =
            config
                .options
                .clone()
                .secret_header("authorization", "Bearer ", config.token.clone());
        Ok(SegmentClient {
            http: HttpClient::with_hooks(options, SegmentHooks)?,
        })
    }

    /// A client over an already configured transport (it must send the token).
    pub fn from_http(http: HttpClient) -> Self {
        SegmentClient { http }
    }

    /// The transport, for its counters ([`HttpClient::stats`]).
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// Sends `request` and decodes the `data` of its `{"data": {…}}` answer.
    ///
    /// Every Segment answer's `data` is an object. serde would also read a struct
    /// from a JSON array (`{"data": []}` as an empty, final page; `[x]` as
    /// `{"data": x}`), turning a garbled answer into "nothing there", so any other
    /// shape is refused as [`Error::Decode`].
    async fn send<T: DeserializeOwned>(&self, request: Request) -> Result<T> {
        let response = self.http.send(request).await?;
        let body: serde_json::Value = response.json()?;
        if !body.get("data").is_some_and(serde_json::Value::is_object) {
            return Err(response.decode_error("expected an object {\"data\": {…}}"));
        }
        serde_json::from_value::<Envelope<T>>(body)
            .map(|envelope| envelope.data)
            .map_err(|e| response.decode_error(&e.to_string()))
    }

    async fn page<O: DeserializeOwned>(
        &self,
        request: Request,
        pagination: &PaginationInput,
    ) -> Result<O> {
        check_count(pagination.count)?;
        self.send(request.raw_query(pagination_query(pagination)))
            .await
    }

    /// Every page of a list, following `next` until it is absent, null or empty.
    ///
    /// Fails with [`Error::Decode`] ([`PageGuard`]; after yielding the pages before)
    /// when the server hands out a cursor it already gave, which would otherwise loop
    /// forever.
    pub fn pages<O>(&self, request: Request, count: u32) -> BoxStream<'static, Result<O>>
    where
        O: Paged + DeserializeOwned + Send + 'static,
        O::Item: Send,
    {
        struct State {
            client: SegmentClient,
            request: Request,
            cursor: Option<String>,
            guard: PageGuard,
            done: bool,
            count: u32,
        }
        let operation = format!("{} {}", request.method(), request.template());
        let state = State {
            client: self.clone(),
            request,
            cursor: None,
            guard: PageGuard::new(operation),
            done: false,
            count,
        };
        stream::try_unfold(state, |mut st| async move {
            if st.done {
                return Ok(None);
            }
            let input = PaginationInput {
                count: st.count,
                cursor: st.cursor.clone(),
            };
            let page: O = st.client.page(st.request.clone(), &input).await?;
            let pagination = page.pagination();
            let next = pagination.next.clone().filter(|n| !n.is_empty());
            match next {
                None => st.done = true,
                Some(next) => {
                    if let Some(c) = &st.cursor {
                        st.guard.remember(c);
                    }
                    if !pagination.current.is_empty() {
                        st.guard.remember(&pagination.current);
                    }
                    st.guard.check(&next)?;
                    st.cursor = Some(next);
                }
            }
            Ok(Some((page, st)))
        })
        .boxed()
    }

    fn items<O>(&self, request: Request, count: u32) -> BoxStream<'static, Result<O::Item>>
    where
        O: Paged + DeserializeOwned + Send + 'static,
        O::Item: Send + 'static,
    {
        self.pages::<O>(request, count)
            .map_ok(|page| {
                let (items, _) = page.into_parts();
                stream::iter(items.into_iter().map(Ok))
            })
            .try_flatten()
            .boxed()
    }

    // ---- IAM Users --------------------------------------------------------------

    /// `addPermissionsToUser`: `POST /users/{userId}/permissions` (appends).
    pub async fn add_permissions_to_user(
        &self,
        user_id: &str,
        permissions: &[PermissionInput],
    ) -> Result<PermissionsOutput> {
        let body = PermissionsInput {
            permissions: permissions.to_vec(),
        };
        self.send(
            Request::post("/users")
                .param(user_id)
                .path("permissions")
                .json(&body)
                .class(IAM_MUTATION),
        )
        .await
        .map_err(not_found(Entity::User, user_id))
    }

    /// `replacePermissionsForUser`: `PUT /users/{userId}/permissions` (replaces the
    /// user's whole direct list).
    pub async fn replace_permissions_for_user(
        &self,
        user_id: &str,
        permissions: &[PermissionInput],
    ) -> Result<PermissionsOutput> {
        let body = PermissionsInput {
            permissions: permissions.to_vec(),
        };
        self.send(
            Request::put("/users")
                .param(user_id)
                .path("permissions")
                .json(&body)
                .class(IAM_MUTATION),
        )
        .await
        .map_err(not_found(Entity::User, user_id))
    }

    /// `createInvites`: `POST /invites` (answers 201).
    pub async fn create_invites(&self, invites: &[Invite]) -> Result<Emails> {
        if invites.is_empty() {
            return Err(Error::invalid("invites", "needs at least one invite"));
        }
        let body = CreateInvitesInput {
            invites: invites.to_vec(),
        };
        self.send(Request::post("/invites").json(&body).class(IAM_MUTATION))
            .await
    }

    /// `deleteInvites`: `DELETE /invites?emails.0=…`.
    pub async fn delete_invites(&self, emails: &[String]) -> Result<StatusOutput> {
        non_empty("emails", emails)?;
        self.send(
            Request::delete("/invites")
                .raw_query(array_query("emails", emails))
                .class(IAM_MUTATION),
        )
        .await
    }

    /// `deleteUsers`: `DELETE /users?userIds.0=…`.
    pub async fn delete_users(&self, user_ids: &[String]) -> Result<StatusOutput> {
        non_empty("userIds", user_ids)?;
        self.send(
            Request::delete("/users")
                .raw_query(array_query("userIds", user_ids))
                .class(IAM_MUTATION),
        )
        .await
    }

    /// `getUser`: `GET /users/{userId}`; [`Error::NotFound`] for an unknown id.
    pub async fn get_user(&self, user_id: &str) -> Result<User> {
        let out: GetUserOutput = self
            .send(Request::get("/users").param(user_id))
            .await
            .map_err(not_found(Entity::User, user_id))?;
        Ok(out.user)
    }

    /// `listInvites`: one page of `GET /invites` (e-mails only).
    pub async fn list_invites(&self, pagination: &PaginationInput) -> Result<ListInvitesOutput> {
        self.page(Request::get("/invites"), pagination).await
    }

    /// Every pending invite's e-mail.
    pub fn stream_invites(&self, count: u32) -> BoxStream<'static, Result<String>> {
        self.items::<ListInvitesOutput>(Request::get("/invites"), count)
    }

    /// `listUserGroupsFromUser`: one page of `GET /users/{userId}/groups`.
    pub async fn list_user_groups_from_user(
        &self,
        user_id: &str,
        pagination: &PaginationInput,
    ) -> Result<ListUserGroupsFromUserOutput> {
        self.page(
            Request::get("/users").param(user_id).path("groups"),
            pagination,
        )
        .await
        .map_err(not_found(Entity::User, user_id))
    }

    /// Every group of a user.
    pub fn stream_user_groups_from_user(
        &self,
        user_id: &str,
        count: u32,
    ) -> BoxStream<'static, Result<MinimalUserGroup>> {
        let id = user_id.to_owned();
        self.items::<ListUserGroupsFromUserOutput>(
            Request::get("/users").param(user_id).path("groups"),
            count,
        )
        .map_err(move |e| not_found(Entity::User, &id)(e))
        .boxed()
    }

    /// `listUsers`: one page of `GET /users` (users with their direct permissions).
    pub async fn list_users(&self, pagination: &PaginationInput) -> Result<ListUsersOutput> {
        self.page(Request::get("/users"), pagination).await
    }

    /// Every user.
    pub fn stream_users(&self, count: u32) -> BoxStream<'static, Result<User>> {
        self.items::<ListUsersOutput>(Request::get("/users"), count)
    }

    // ---- IAM Roles --------------------------------------------------------------

    /// `listRoles`: one page of `GET /roles`.
    pub async fn list_roles(&self, pagination: &PaginationInput) -> Result<ListRolesOutput> {
        self.page(Request::get("/roles"), pagination).await
    }

    /// Every role.
    pub fn stream_roles(&self, count: u32) -> BoxStream<'static, Result<Role>> {
        self.items::<ListRolesOutput>(Request::get("/roles"), count)
    }

    // ---- IAM Groups -------------------------------------------------------------

    /// `listUserGroups`: one page of `GET /groups`.
    pub async fn list_user_groups(
        &self,
        pagination: &PaginationInput,
    ) -> Result<ListUserGroupsOutput> {
        self.page(Request::get("/groups"), pagination).await
    }

    /// Every user group (with permissions).
    pub fn stream_user_groups(&self, count: u32) -> BoxStream<'static, Result<UserGroup>> {
        self.items::<ListUserGroupsOutput>(Request::get("/groups"), count)
    }

    /// `getUserGroup`: `GET /groups/{userGroupId}`.
    pub async fn get_user_group(&self, group_id: &str) -> Result<UserGroup> {
        let out: UserGroupOutput = self
            .send(Request::get("/groups").param(group_id))
            .await
            .map_err(not_found(Entity::Group, group_id))?;
        Ok(out.user_group)
    }

    /// `createUserGroup`: `POST /groups` (answers 200).
    pub async fn create_user_group(&self, name: &str) -> Result<UserGroup> {
        let out: UserGroupOutput = self
            .send(
                Request::post("/groups")
                    .json(&GroupName {
                        name: name.to_owned(),
                    })
                    .class(IAM_MUTATION),
            )
            .await?;
        Ok(out.user_group)
    }

    /// `updateUserGroup`: `PATCH /groups/{userGroupId}` (rename).
    pub async fn update_user_group(&self, group_id: &str, name: &str) -> Result<UserGroup> {
        let out: UserGroupOutput = self
            .send(
                Request::patch("/groups")
                    .param(group_id)
                    .json(&GroupName {
                        name: name.to_owned(),
                    })
                    .idempotent(true)
                    .class(IAM_MUTATION),
            )
            .await
            .map_err(not_found(Entity::Group, group_id))?;
        Ok(out.user_group)
    }

    /// `deleteUserGroup`: `DELETE /groups/{userGroupId}`.
    pub async fn delete_user_group(&self, group_id: &str) -> Result<StatusOutput> {
        self.send(
            Request::delete("/groups")
                .param(group_id)
                .class(IAM_MUTATION),
        )
        .await
        .map_err(not_found(Entity::Group, group_id))
    }

    /// `addUsersToUserGroup`: `POST /groups/{userGroupId}/users` (users and invites,
    /// by e-mail).
    pub async fn add_users_to_user_group(
        &self,
        group_id: &str,
        emails: &[String],
    ) -> Result<UserGroup> {
        non_empty("emails", emails)?;
        let out: UserGroupOutput = self
            .send(
                Request::post("/groups")
                    .param(group_id)
                    .path("users")
                    .json(&Emails {
                        emails: emails.to_vec(),
                    })
                    .class(IAM_MUTATION),
            )
            .await
            .map_err(not_found(Entity::Group, group_id))?;
        Ok(out.user_group)
    }

    /// `replaceUsersInUserGroup`: `PUT /group/{userGroupId}/users` (singular `group`,
    /// as in every official SDK).
    pub async fn replace_users_in_user_group(
        &self,
        group_id: &str,
        emails: &[String],
    ) -> Result<UserGroup> {
        let out: UserGroupOutput = self
            .send(
                Request::put("/group")
                    .param(group_id)
                    .path("users")
                    .json(&Emails {
                        emails: emails.to_vec(),
                    })
                    .class(IAM_MUTATION),
            )
            .await
            .map_err(not_found(Entity::Group, group_id))?;
        Ok(out.user_group)
    }

    /// `removeUsersFromUserGroup`: `DELETE /group/{userGroupId}/users?emails.0=…`
    /// (singular `group`).
    pub async fn remove_users_from_user_group(
        &self,
        group_id: &str,
        emails: &[String],
    ) -> Result<StatusOutput> {
        non_empty("emails", emails)?;
        self.send(
            Request::delete("/group")
                .param(group_id)
                .path("users")
                .raw_query(array_query("emails", emails))
                .class(IAM_MUTATION),
        )
        .await
        .map_err(not_found(Entity::Group, group_id))
    }

    /// `listUsersFromUserGroup`: one page of `GET /groups/{userGroupId}/users`.
    pub async fn list_users_from_user_group(
        &self,
        group_id: &str,
        pagination: &PaginationInput,
    ) -> Result<ListUsersFromUserGroupOutput> {
        self.page(
            Request::get("/groups").param(group_id).path("users"),
            pagination,
        )
        .await
        .map_err(not_found(Entity::Group, group_id))
    }

    /// Every user member of a group.
    pub fn stream_users_from_user_group(
        &self,
        group_id: &str,
        count: u32,
    ) -> BoxStream<'static, Result<MinimalUser>> {
        let id = group_id.to_owned();
        self.items::<ListUsersFromUserGroupOutput>(
            Request::get("/groups").param(group_id).path("users"),
            count,
        )
        .map_err(move |e| not_found(Entity::Group, &id)(e))
        .boxed()
    }

    /// `listInvitesFromUserGroup`: one page of `GET /groups/{userGroupId}/invites`.
    pub async fn list_invites_from_user_group(
        &self,
        group_id: &str,
        pagination: &PaginationInput,
    ) -> Result<ListInvitesFromUserGroupOutput> {
        self.page(
            Request::get("/groups").param(group_id).path("invites"),
            pagination,
        )
        .await
        .map_err(not_found(Entity::Group, group_id))
    }

    /// Every pending invite member of a group.
    pub fn stream_invites_from_user_group(
        &self,
        group_id: &str,
        count: u32,
    ) -> BoxStream<'static, Result<String>> {
        let id = group_id.to_owned();
        self.items::<ListInvitesFromUserGroupOutput>(
            Request::get("/groups").param(group_id).path("invites"),
            count,
        )
        .map_err(move |e| not_found(Entity::Group, &id)(e))
        .boxed()
    }

    /// `addPermissionsToUserGroup`: `POST /groups/{userGroupId}/permissions`.
    pub async fn add_permissions_to_user_group(
        &self,
        group_id: &str,
        permissions: &[PermissionInput],
    ) -> Result<PermissionsOutput> {
        let body = PermissionsInput {
            permissions: permissions.to_vec(),
        };
        self.send(
            Request::post("/groups")
                .param(group_id)
                .path("permissions")
                .json(&body)
                .class(IAM_MUTATION),
        )
        .await
        .map_err(not_found(Entity::Group, group_id))
    }

    /// `replacePermissionsForUserGroup`: `PUT /groups/{userGroupId}/permissions`.
    pub async fn replace_permissions_for_user_group(
        &self,
        group_id: &str,
        permissions: &[PermissionInput],
    ) -> Result<PermissionsOutput> {
        let body = PermissionsInput {
            permissions: permissions.to_vec(),
        };
        self.send(
            Request::put("/groups")
                .param(group_id)
                .path("permissions")
                .json(&body)
                .class(IAM_MUTATION),
        )
        .await
        .map_err(not_found(Entity::Group, group_id))
    }

    // ---- Workspace and resources ------------------------------------------------

    /// `getWorkspace`: `GET /` (the token's workspace).
    pub async fn get_workspace(&self) -> Result<Workspace> {
        let out: GetWorkspaceOutput = self.send(Request::get("/")).await?;
        Ok(out.workspace)
    }

    /// `listSources`: one page of `GET /sources`.
    pub async fn list_sources(&self, pagination: &PaginationInput) -> Result<ListSourcesOutput> {
        self.page(Request::get("/sources"), pagination).await
    }

    /// Every source.
    pub fn stream_sources(&self, count: u32) -> BoxStream<'static, Result<Source>> {
        self.items::<ListSourcesOutput>(Request::get("/sources"), count)
    }

    /// `listWarehouses`: one page of `GET /warehouses`.
    pub async fn list_warehouses(
        &self,
        pagination: &PaginationInput,
    ) -> Result<ListWarehousesOutput> {
        self.page(Request::get("/warehouses"), pagination).await
    }

    /// Every warehouse.
    pub fn stream_warehouses(&self, count: u32) -> BoxStream<'static, Result<Warehouse>> {
        self.items::<ListWarehousesOutput>(Request::get("/warehouses"), count)
    }

    /// `listSpaces` (alpha): one page of `GET /spaces`.
    pub async fn list_spaces(&self, pagination: &PaginationInput) -> Result<ListSpacesOutput> {
        self.page(Request::get("/spaces"), pagination).await
    }

    /// Every space.
    pub fn stream_spaces(&self, count: u32) -> BoxStream<'static, Result<Space>> {
        self.items::<ListSpacesOutput>(Request::get("/spaces"), count)
    }

    /// `listFunctions`: one page of `GET /functions?resourceType=…`
    /// (`DESTINATION`, `INSERT_DESTINATION` or `SOURCE`).
    pub async fn list_functions(
        &self,
        resource_type: &str,
        pagination: &PaginationInput,
    ) -> Result<ListFunctionsOutput> {
        self.page(functions_request(resource_type), pagination)
            .await
    }

    /// Every function of a resource type.
    pub fn stream_functions(
        &self,
        resource_type: &str,
        count: u32,
    ) -> BoxStream<'static, Result<Function>> {
        self.items::<ListFunctionsOutput>(functions_request(resource_type), count)
    }

    /// `listLabels`: `GET /labels` (not paginated).
    pub async fn list_labels(&self) -> Result<Vec<Label>> {
        let out: ListLabelsOutput = self.send(Request::get("/labels")).await?;
        Ok(out.labels)
    }
}

fn functions_request(resource_type: &str) -> Request {
    // Form encoding is exact for the documented values (A-Z and `_`).
    Request::get("/functions").query("resourceType", resource_type)
}
