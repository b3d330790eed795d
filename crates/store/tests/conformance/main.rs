//! The store's behaviour, written once and run against every backend (PostgreSQL on a
//! throwaway cluster the suite starts itself: `ferry_store::testing::pg`). Adding a backend: give
//! `common.rs` a function that opens a fresh one, and add one `backend!` line at the bottom of this file.

mod common;

mod activations;
mod clock;
mod controls;
mod edit;
mod inbox;
mod jobs;
mod links;
mod nodes;
mod ordering;
mod rerun;
mod resolve;
mod shadows;
mod sync;
mod tokens;

/// One `#[tokio::test]` per behaviour for the backend `$open` makes.
macro_rules! tests {
    ($open:path; $($module:ident :: $test:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                let fixture = $open().await;
                crate::$module::$test(&fixture).await;
            }
        )*
    };
}

macro_rules! backend {
    ($name:ident, $open:path) => {
        mod $name {
            tests! { $open;
                inbox::ingest_dedups_by_source_event_id_per_tenant_and_source,
                inbox::stored_events_are_listed_newest_first_and_found_by_source_id,
                jobs::intake_is_deduplicated_and_a_handled_quote_is_never_queued_again,
                jobs::claims_are_fenced_and_an_expired_lease_passes_the_job_on,
                jobs::an_intent_without_a_result_survives_retries_and_crashes,
                jobs::holds_release_and_dead_letters_replay_from_the_last_checkpoint,
                jobs::a_restart_release_starts_from_the_beginning_with_only_the_kept_fields,
                jobs::one_job_at_a_time_holds_an_order_reference,
                jobs::a_restarted_node_takes_its_own_claims_back_at_once_and_no_one_elses,
                jobs::another_tenants_job_never_waits_on_this_tenants_reference,
                jobs::a_job_written_by_one_handle_is_claimed_once_across_handles,
                jobs::audit_outside_a_step_joins_the_keys_trail,
                jobs::job_counts_are_per_kind_and_state_of_one_tenant_and_filter_by_last_change,
                clock::a_clock_stepped_back_delays_a_retry_by_its_backoff_not_by_the_step,
                clock::a_clock_stepped_back_keeps_a_dead_workers_lease_for_one_lease_only,
                clock::a_heartbeat_after_a_clock_step_back_keeps_the_lease_with_its_holder,
                links::a_link_is_found_by_local_and_by_remote_id_per_tenant_and_kind,
                links::open_links_are_those_whose_state_is_not_closed,
                links::a_step_commits_its_link_with_the_checkpoint_and_keeps_the_links_state,
                rerun::a_rerun_queues_once_per_event_and_a_duplicate_event_changes_nothing,
                rerun::a_rerun_while_the_job_runs_makes_it_run_once_more,
                rerun::a_rerun_takes_a_held_or_dead_job_back_into_the_queue,
                rerun::a_queued_job_takes_a_new_checkpoint_only_until_it_runs,
                rerun::a_queued_job_is_replaced_for_its_own_tenant_only,
                resolve::a_held_or_dead_job_resolved_by_hand_ends_done_and_is_never_replayed,
                edit::an_edited_held_or_dead_job_is_queued_at_the_step_with_the_new_checkpoint,
                controls::a_paused_flow_claims_nothing_of_that_tenant_until_resumed_on_every_handle,
                controls::the_audit_is_pruned_by_age_for_one_tenant_only,
                controls::a_later_run_that_succeeds_resolves_the_jobs_open_dead_letter,
                sync::cursors_and_content_hashes_are_kept_per_tenant_stream_and_entity,
                sync::content_hashes_are_read_and_written_a_page_at_a_time,
                sync::a_thousand_and_two_hundred_content_hashes_go_in_one_call,
                sync::a_cursor_is_replaced_only_if_it_is_still_what_was_read,
                activations::activation_needs_an_install_and_is_idempotent,
                activations::rollback_restores_the_previous_activation_for_every_handle,
                activations::the_generation_moves_on_every_change_and_only_then,
                activations::components_and_their_files_are_kept_by_digest_for_every_handle,
                tokens::a_token_is_found_by_its_hash_until_revoked_and_revocation_is_seen_by_every_handle,
                nodes::nodes_register_heartbeat_and_are_listed_by_every_handle_with_their_claims,
                nodes::a_schedule_slot_is_taken_once_across_handles_and_never_after_a_later_one,
                shadows::a_shadow_runs_once_per_role_keeps_its_latest_records_and_ends_with_an_outcome,
                ordering::one_keys_jobs_run_one_at_a_time_in_queue_order_under_concurrent_claimers,
                ordering::other_keys_other_tenants_and_jobs_without_a_key_are_not_held_back,
                ordering::a_retrying_job_holds_its_key_back_and_a_held_or_dead_one_does_not,
            }
        }
    };
}

backend!(sqlite, crate::common::sqlite);
backend!(memory, crate::common::memory);
backend!(postgres, crate::common::postgres);
