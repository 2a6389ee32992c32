//! UI strings: 简体中文 first, English second. The language comes from the `tz_lang` cookie.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tr {
    pub en: bool,
}

const STRINGS: &[(&str, &str, &str)] = &[
    ("app", "台账 · 工作督办系统", "Taizhang · Work supervision"),
    ("home", "首页", "Home"),
    ("units", "组织机构", "Organisation"),
    ("tasks", "我的待办", "My tasks"),
    ("ledgers", "督办台账", "Ledgers"),
    ("indicators", "均衡发展", "Indicators"),
    ("reports", "报告", "Reports"),
    ("inbox", "消息", "Messages"),
    ("users", "用户与角色", "Users and roles"),
    ("audit", "审计日志", "Audit trail"),
    ("login_log", "登录日志", "Sign-in log"),
    ("password", "修改密码", "Change password"),
    ("tokens", "接口令牌", "API tokens"),
    ("logout", "退出", "Sign out"),
    ("login", "登录", "Sign in"),
    ("username", "用户名", "User name"),
    ("display_name", "姓名", "Name"),
    ("pw", "密码", "Password"),
    ("current_pw", "当前密码", "Current password"),
    ("new_pw", "新密码", "New password"),
    ("confirm_pw", "确认新密码", "Confirm new password"),
    (
        "pw_rule",
        "至少8位,包含大写字母、小写字母、数字、符号中的至少三类",
        "At least 8 characters from at least 3 of: upper-case, lower-case, digits, symbols",
    ),
    (
        "must_change",
        "首次登录请先修改初始密码。",
        "Please change your initial password first.",
    ),
    ("save", "保存", "Save"),
    ("create", "新建", "Create"),
    ("add_child", "新建下级单位", "Add a child unit"),
    ("edit", "编辑", "Edit"),
    ("move", "移动", "Move"),
    ("move_to", "移动到上级单位", "Move under"),
    ("deactivate", "停用", "Deactivate"),
    ("reactivate", "启用", "Reactivate"),
    ("code", "代码", "Code"),
    ("name", "名称", "Name"),
    ("kind", "类型", "Kind"),
    ("stage", "学段", "Stage"),
    ("rural", "农村", "Rural"),
    ("urban_rural", "城乡", "Urban/rural"),
    ("urban", "城镇", "Urban"),
    ("status", "状态", "Status"),
    ("active", "在用", "Active"),
    ("inactive", "已停用", "Deactivated"),
    ("children", "下级单位", "Child units"),
    ("unit", "单位", "Unit"),
    ("parent", "上级单位", "Parent unit"),
    ("none", "无", "None"),
    ("attrs", "基本情况", "Basic facts"),
    ("search", "查询", "Search"),
    ("roles", "角色", "Roles"),
    ("scope", "数据范围", "Data scope"),
    ("role", "角色", "Role"),
    (
        "custom_units",
        "自定义范围(单位代码,逗号分隔)",
        "Custom scope (unit codes, comma-separated)",
    ),
    ("new_user", "新建用户", "New user"),
    ("initial_pw", "初始密码", "Initial password"),
    ("reset_pw", "重置密码", "Reset password"),
    ("last_login", "最近登录", "Last sign-in"),
    ("locked", "已锁定", "Locked"),
    ("time", "时间", "Time"),
    (
        "history",
        "查看此单位的审计记录 →",
        "Audit history of this unit →",
    ),
    ("time_bj", "时间(北京时间)", "Time (UTC+8)"),
    (
        "confirm_deactivate",
        "确定停用该单位吗?停用后不能在其下新建单位或用户。",
        "Deactivate this unit? No units or users can be added under it afterwards.",
    ),
    ("actor", "操作人", "Actor"),
    ("action", "操作", "Action"),
    ("object", "对象", "Object"),
    ("detail", "详情", "Details"),
    ("verify", "校验审计链", "Verify the chain"),
    ("head", "最新哈希", "Head hash"),
    ("result", "结果", "Result"),
    ("success", "成功", "Success"),
    ("failure", "失败", "Failure"),
    ("reason", "原因", "Reason"),
    ("ip", "IP", "IP"),
    ("ua", "浏览器", "User agent"),
    ("older", "更早", "Older"),
    ("welcome", "欢迎使用台账", "Welcome to Taizhang"),
    (
        "welcome_text",
        "台账把督办事项、检查销号、学校指标、评议测评和服务办件记在一处,准确计算各项数字,生成规范的公文和报告。",
        "Taizhang keeps supervision items, close-outs, school indicators, evaluations and service cases in one place, computes their figures exactly and writes the reports.",
    ),
    ("my_unit", "所在单位", "Your unit"),
    ("my_roles", "我的角色", "Your roles"),
    (
        "modules_soon",
        "督办台账、指标评估、报告与核验模块将在此处接入。",
        "The ledger, indicator, report and checker modules plug in here.",
    ),
    ("lang_other", "English", "中文"),
    ("total", "共", "Total"),
    ("items", "条", "rows"),
    ("prev", "上一页", "Previous"),
    ("next", "下一页", "Next"),
    ("version", "版本", "Version"),
    ("err", "出错了", "Error"),
    ("ok", "操作成功", "Done"),
    ("token_name", "令牌名称", "Token name"),
    ("days", "有效天数", "Valid for days"),
    ("revoke", "吊销", "Revoke"),
    (
        "token_once",
        "请立即复制此令牌,它只显示这一次:",
        "Copy this token now; it is shown only once:",
    ),
    ("created", "创建时间", "Created"),
    ("expires", "到期", "Expires"),
    ("last_used", "最近使用", "Last used"),
    ("revoked", "已吊销", "Revoked"),
    ("sort", "排序", "Order"),
    (
        "tree_hint",
        "点击单位名称查看详情和下级单位。",
        "Click a unit to see its details and children.",
    ),
];

impl Tr {
    pub fn t(&self, key: &str) -> &'static str {
        match STRINGS.iter().find(|(k, _, _)| *k == key) {
            Some((_, zh, en)) => {
                if self.en {
                    en
                } else {
                    zh
                }
            }
            None => "??",
        }
    }

    pub fn lang(&self) -> &'static str {
        if self.en { "en" } else { "zh-CN" }
    }

    /// Picks the message of a service error in the UI language.
    pub fn pick<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        if self.en { en } else { zh }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_key_is_unique_and_translated() {
        let mut keys: Vec<&str> = super::STRINGS.iter().map(|s| s.0).collect();
        keys.sort();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n, "duplicate UI string key");
        for (k, zh, en) in super::STRINGS {
            assert!(!zh.is_empty() && !en.is_empty(), "{k}");
        }
    }
}
