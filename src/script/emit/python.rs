pub fn program(_plan: &super::Plan) -> String {
    String::new()
}
