-- name: revenue
SELECT customer, sum(amount) AS revenue
FROM orders
GROUP BY customer
ORDER BY revenue DESC, customer;
