//! Parallel branches and Map iterations.

use super::dataflow::select_path;
use super::*;

pub(super) async fn run_parallel(
    inner: &Inner,
    state: &State,
    branches: &[Machine],
    input: &Value,
    vars: &Vars,
) -> Result<Value, Failure> {
    let runs = branches.iter().enumerate().map(|(index, branch)| {
        let branch_vars = copy_vars(vars);
        async move {
            run_machine(inner, branch, input.clone(), &branch_vars)
                .await
                .map_err(|failure| (index, failure))
        }
    });
    match try_join_all(runs).await {
        Ok(results) => Ok(Value::Array(results)),
        Err((branch, failure)) => {
            inner.record(EventKind::ParallelBranchFailed {
                state: state.name.clone(),
                branch,
                error: failure.error.clone(),
            });
            Err(Failure {
                from_branch: true,
                ..failure
            })
        }
    }
}

pub(super) async fn run_map(
    inner: &Inner,
    state: &State,
    map: &MapState,
    effective: &Value,
    context: &Value,
    vars: &Vars,
) -> Result<Value, Failure> {
    let items = match &map.items {
        Items::Path(path) => match select_path(path, effective, "ItemsPath", vars)? {
            Value::Array(items) => items,
            other => {
                return Err(Failure::runtime(format!(
                    "ItemsPath '{}' must select an array, not {other}",
                    path.text()
                )));
            }
        },
        Items::Jsonata(jt) => match inner.query(jt, &states(effective, context), vars)? {
            Value::Array(items) => items,
            other => {
                return Err(Failure::new(
                    QUERY_ERROR,
                    format!("Items must give an array, not {other}"),
                ));
            }
        },
    };
    let limit = match map.max_concurrency {
        0 => items.len().max(1),
        n => n,
    };
    let iterations = items
        .into_iter()
        .enumerate()
        .map(|(index, item)| async move {
            inner.record(EventKind::MapIterationStarted {
                state: state.name.clone(),
                index,
            });
            let mut item_context = context.clone();
            item_context["Map"] = json!({"Item": {"Index": index, "Value": item}});
            let input = match &map.item_selector {
                Some(Selector::Template(selector)) => {
                    inner.eval(selector, effective, &item_context, vars)?
                }
                Some(Selector::Jsonata(jt)) => {
                    inner.query(jt, &states(effective, &item_context), vars)?
                }
                None => item,
            };
            let item_vars = copy_vars(vars);
            match run_machine(inner, &map.processor, input, &item_vars).await {
                Ok(output) => {
                    inner.record(EventKind::MapIterationSucceeded {
                        state: state.name.clone(),
                        index,
                    });
                    Ok((index, output))
                }
                Err(failure) => {
                    inner.record(EventKind::MapIterationFailed {
                        state: state.name.clone(),
                        index,
                        error: failure.error.clone(),
                    });
                    Err(Failure {
                        from_branch: true,
                        ..failure
                    })
                }
            }
        });
    let mut results: Vec<(usize, Value)> = stream::iter(iterations)
        .buffer_unordered(limit)
        .try_collect()
        .await?;
    results.sort_by_key(|(index, _)| *index);
    Ok(Value::Array(results.into_iter().map(|(_, v)| v).collect()))
}
