"""Complaint texts: honest complaints vary; the schemes file near-identical ones in waves.

Texts are assembled from object arrays, so building a million of them is vectorized.
"""

from __future__ import annotations

import numpy as np

_OPENINGS = np.array(["本人", "我", "投诉人", "客户本人", "我母亲", "我们家"], dtype=object)
_ISSUES = {
    "service": [
        "柜台办理业务等待时间过长",
        "客服电话一直打不通",
        "手机银行无法登录",
        "网点服务态度差",
    ],
    "fees": ["账户被扣除不明费用", "年费收取未提前告知", "转账手续费与宣传不符"],
    "claims": ["理赔申请迟迟没有结果", "理赔金额与条款不一致", "理赔材料被反复要求补充"],
    "sales_misleading": [
        "购买时业务员未说明退保损失",
        "保险被当作存款产品销售",
        "分红收益与宣传不符",
    ],
    "collection_harassment": ["催收人员频繁来电", "催收电话打给了我的同事", "深夜接到催收电话"],
    "card": ["信用卡额度被无故降低", "信用卡分期利息过高", "账单金额有误"],
}
_REQUESTS = np.array(
    ["请尽快处理。", "希望给个说法。", "要求退还费用。", "请核实情况。", "望回复。", ""],
    dtype=object,
)
_PRODUCTS = np.array(["年金险", "分红险", "万能险", "终身寿险", "重疾险"], dtype=object)

# Each gang picks one template and files it from all its customers with its own phone.
_SCHEMES = {
    "surrender": [
        lambda year, product, phone: (
            "本人于"
            + year
            + "年购买的"
            + product
            + "系业务员误导销售，未告知退保损失，现要求全额退保，联系电话"
            + phone
        ),
        lambda year, product, phone: (
            "业务员销售"
            + product
            + "时承诺保本高收益，与合同不符，本人要求全额退还已交保费，请联系"
            + phone
        ),
        lambda year, product, phone: (
            "我于"
            + year
            + "年被诱导购买"
            + product
            + "，存在销售误导，申请全额退保并退还全部保费，联系"
            + phone
        ),
    ],
    "debt_relief": [
        lambda year, product, phone: (
            "本人因收入下降无力还款，要求停息挂账、减免罚息，停止催收，委托联系人电话" + phone
        ),
        lambda year, product, phone: (
            "申请个性化分期，贵司违规收取高额利息，要求退还利息，停止骚扰，联系" + phone
        ),
    ],
}


def genuine(rng: np.random.Generator, categories: np.ndarray) -> np.ndarray:
    """Varied, honest complaint texts for the given categories."""
    issue = np.empty(len(categories), dtype=object)
    for category, options in _ISSUES.items():
        rows = np.flatnonzero(categories == category)
        issue[rows] = np.array(options, dtype=object)[rng.integers(0, len(options), len(rows))]
    opening = _OPENINGS[rng.integers(0, len(_OPENINGS), len(categories))]
    request = _REQUESTS[rng.integers(0, len(_REQUESTS), len(categories))]
    return (opening + issue + "，" + request).astype(str)


def scheme(
    rng: np.random.Generator, family: str, template: np.ndarray, phones: np.ndarray
) -> np.ndarray:
    """A gang's template filled with its phone; year and product vary a little."""
    years = rng.integers(2016, 2024, len(phones)).astype(str).astype(object)
    products = _PRODUCTS[rng.integers(0, len(_PRODUCTS), len(phones))]
    phones = np.asarray(phones, dtype=object)
    texts = np.empty(len(phones), dtype=object)
    for index, fill in enumerate(_SCHEMES[family]):
        rows = np.flatnonzero(template % len(_SCHEMES[family]) == index)
        texts[rows] = fill(years[rows], products[rows], phones[rows])
    return texts.astype(str)
