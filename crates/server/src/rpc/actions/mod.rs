//! The operations, one file each. Each takes the request's [`Ctx`](crate::rpc::request::Ctx) and answers
//! the fields of its success (the gateway adds the common ones) or an error of the table.

pub mod assume_role;
pub mod create_message_campaign;
pub mod delete_message_campaign;
pub mod get_message_campaign_insights;
pub mod list_cust_space_page;
pub mod list_message_campaign;
pub mod list_page_ad_account;
pub mod put_message_events;
pub mod sync_message_campaign;
