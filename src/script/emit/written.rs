//! What a line writes of a call's outputs, as the emitters check it: an
//! address the kernel writes back, received bytes, an int.

use super::super::ast::{Expr, ExprKind};
use super::super::resolve::{self, Why};
use super::model::{Out, Sun, Val, field, inet, val_of};

/// An address the kernel writes back.
pub(super) fn out_of(e: &Expr) -> Result<Out, Why> {
    match &e.kind {
        ExprKind::Null => Ok(Out::Null),
        // A pointer: strace prints the buffer's address when the call
        // failed and wrote nothing (`accept(3, 0x7ffd..., [128]) = -1
        // EINVAL`): a buffer as `...`, nothing to check.
        ExprKind::Dots | ExprKind::Int(_) => Ok(Out::Any),
        _ => match sun(e)? {
            Some(s) => Ok(Out::Unix(s)),
            None => inet(e).map(Out::Is),
        },
    }
}

/// Received bytes a line writes (None: `...`).
pub(super) fn data_of(e: &Expr) -> Option<(Vec<u8>, bool)> {
    match &e.kind {
        ExprKind::Str { bytes, cut } => Some((bytes.clone(), *cut)),
        _ => None,
    }
}

/// An int the kernel writes (`[0]`, `[ECONNREFUSED]`), if written.
pub(super) fn int_of(e: &Expr) -> Result<Option<Val>, Why> {
    match &e.kind {
        ExprKind::Dots => Ok(None),
        ExprKind::Array(items) if items.len() == 1 => match items.first().map(|i| &i.kind) {
            Some(ExprKind::Dots) | None => Ok(None),
            Some(ExprKind::InOut(_, b)) => int_of(b),
            _ => val_of(e, None).map(Some),
        },
        ExprKind::InOut(_, b) => int_of(b),
        _ => Ok(None),
    }
}

/// An AF_UNIX address, if `e` is one.
pub fn sun(e: &Expr) -> Result<Option<Sun>, Why> {
    match &e.kind {
        ExprKind::Addr(text) if text.starts_with('/') => {
            Ok(Some(Sun::Path(text.as_bytes().to_vec())))
        }
        ExprKind::Addr(text) => Ok(text
            .strip_prefix('@')
            .map(|n| Sun::Abstract(n.as_bytes().to_vec()))),
        ExprKind::Func(..) => Ok(resolve::func_str(e, "@").map(|n| Sun::Abstract(n.to_vec()))),
        ExprKind::Struct(f) => match field(f, "sa_family").map(|e| &e.kind) {
            Some(ExprKind::Name(n)) if n == "AF_UNIX" => {
                Ok(Some(match field(f, "sun_path").map(|e| &e.kind) {
                    None => Sun::Unnamed,
                    Some(ExprKind::Str { bytes, .. }) => Sun::Path(bytes.clone()),
                    Some(ExprKind::Func(at, args)) if at == "@" => {
                        match args.first().map(|a| &a.kind) {
                            Some(ExprKind::Str { bytes, .. }) => Sun::Abstract(bytes.clone()),
                            _ => return Err("sun_path=@\"NAME\"".into()),
                        }
                    }
                    _ => return Err("sun_path is a string".into()),
                }))
            }
            _ => Ok(None),
        },
        _ => Ok(None),
    }
}
