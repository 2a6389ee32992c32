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
