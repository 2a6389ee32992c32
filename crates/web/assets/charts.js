// Draws the ledger dashboard (status split, monthly trend, unit ranking) from the JSON the
// page embeds in #chart-data, with the vendored Apache ECharts.
(function () {
  var el = document.getElementById('chart-data');
  if (!el || !window.echarts) return;
  var d = JSON.parse(el.textContent);
  var font = { fontFamily: '"Noto Sans CJK SC", "Microsoft YaHei", sans-serif' };
  function chart(id, option) {
    var node = document.getElementById(id);
    if (!node) return;
    var c = echarts.init(node, null, { renderer: 'svg' });
    option.textStyle = font;
    option.animation = false;
    c.setOption(option);
    window.addEventListener('resize', function () { c.resize(); });
  }
  var colors = { draft: '#98a2b3', assigned: '#f79009', in_progress: '#2e90fa', submitted: '#7a5af8',
    closed: '#12b76a', escalated: '#f04438', suspended: '#667085', cancelled: '#d0d5dd', archived: '#039855' };
  chart('chart-state', {
    title: { text: '状态分布', left: 'center', textStyle: { fontSize: 14 } },
    tooltip: { trigger: 'item', formatter: '{b}:{c}({d}%)' },
    series: [{ type: 'pie', radius: ['35%', '65%'], top: 20,
      data: d.by_state.map(function (s) { return { name: s.label, value: s.count, itemStyle: { color: colors[s.state] } }; }),
      label: { formatter: '{b} {c}' } }]
  });
  chart('chart-month', {
    title: { text: '按月交办与办结', left: 'center', textStyle: { fontSize: 14 } },
    tooltip: { trigger: 'axis' },
    legend: { bottom: 0, data: ['交办', '办结'] },
    grid: { left: 40, right: 20, top: 40, bottom: 50 },
    xAxis: { type: 'category', data: d.by_month.map(function (m) { return m.month; }) },
    yAxis: { type: 'value', minInterval: 1 },
    series: [
      { name: '交办', type: 'bar', data: d.by_month.map(function (m) { return m.assigned; }), itemStyle: { color: '#2e90fa' } },
      { name: '办结', type: 'bar', data: d.by_month.map(function (m) { return m.closed; }), itemStyle: { color: '#12b76a' } }
    ]
  });
  var units = d.by_unit.slice().reverse();
  chart('chart-units', {
    title: { text: '单位按期办结率排名', left: 'center', textStyle: { fontSize: 14 } },
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    grid: { left: 130, right: 40, top: 40, bottom: 20 },
    xAxis: { type: 'value', max: 100, axisLabel: { formatter: '{value}%' } },
    yAxis: { type: 'category', data: units.map(function (u) { return u.label; }) },
    series: [{ type: 'bar', data: units.map(function (u) { return u.on_time_rate === null ? 0 : Math.round(u.on_time_rate * 10) / 10; }),
      label: { show: true, position: 'right', formatter: '{c}%' }, itemStyle: { color: '#a4161a' } }]
  });
})();

// The evaluation page: each indicator's 差异系数 per stage against its limit (or, under a
// ratio-of-sums standard, the county value against the standard).
(function () {
  var el = document.getElementById('eval-data');
  var node = document.getElementById('chart-cv');
  if (!el || !node || !window.echarts) return;
  var d = JSON.parse(el.textContent);
  var stages = [];
  d.rows.forEach(function (r) { if (stages.indexOf(r.stage) < 0) stages.push(r.stage); });
  var codes = [];
  d.rows.forEach(function (r) { if (codes.indexOf(r.code) < 0) codes.push(r.code); });
  var key = d.cv_rule ? 'cv' : 'mean';
  var palette = ['#2e90fa', '#f79009', '#7a5af8'];
  var series = stages.map(function (s, k) {
    var rows = d.rows.filter(function (r) { return r.stage === s; });
    var limit = rows.length && rows[0].threshold;
    return {
      name: s, type: 'bar', itemStyle: { color: palette[k % 3] },
      data: codes.map(function (c) {
        var r = rows.filter(function (x) { return x.code === c; })[0];
        var v = r && r[key] !== null ? Math.round(r[key] * 1000) / 1000 : null;
        var bad = r && r.threshold !== null && v !== null && v > r.threshold;
        return { value: v, itemStyle: bad ? { color: '#d92d20' } : undefined };
      }),
      label: { show: true, position: 'top', fontSize: 10 },
      markLine: d.cv_rule && limit ? { symbol: 'none', data: [{ yAxis: limit, name: s + '上限' }],
        lineStyle: { color: palette[k % 3], type: 'dashed' }, label: { formatter: s + '上限 {c}' } } : undefined
    };
  });
  var c = echarts.init(node, null, { renderer: 'svg' });
  c.setOption({
    animation: false,
    textStyle: { fontFamily: '"Noto Sans CJK SC", "Microsoft YaHei", sans-serif' },
    title: { text: d.cv_rule ? '各指标差异系数(红色为超过上限)' : '县域指标值', left: 'center', textStyle: { fontSize: 14 } },
    tooltip: { trigger: 'axis' },
    legend: { bottom: 0, data: stages },
    grid: { left: 50, right: 90, top: 40, bottom: 50 },
    xAxis: { type: 'category', data: codes },
    // Room for the CV limits' lines (ECharts scales to the bars only).
    yAxis: d.cv_rule ? { type: 'value', max: function (v) {
      var lim = d.rows.reduce(function (m, r) { return r.threshold !== null ? Math.max(m, r.threshold) : m; }, 0);
      return Math.ceil(Math.max(v.max, lim) * 11) / 10; } } : { type: 'value' },
    series: series
  });
  window.addEventListener('resize', function () { c.resize(); });
})();
